"""Command line entry point: the SDK's CLI with clear errors and named exit codes.

Errors the user can fix (a missing input or config file, an invalid setting, a port in use, a
target that exits early) print one line on stderr instead of a traceback. Set
`TAP_SEGMENT_WEBHOOK_TRACEBACK=1` to see the traceback as well.
"""

from __future__ import annotations

import enum
import logging
import os
import sys

import click
from singer_sdk.exceptions import ConfigValidationError

from tap_segment_webhook.decode.inputs import InputNotFoundError
from tap_segment_webhook.emit.writer import OutputClosedError
from tap_segment_webhook.listen.settings import ListenConfigError, ListenerStartError
from tap_segment_webhook.report.rejects import RejectsFileError

LOGGER = logging.getLogger("tap-segment-webhook")


class ExitStatus(enum.IntEnum):
    """Exit codes of `tap-segment-webhook`."""

    SUCCESS = 0
    CONFIG_ERROR = 1
    INPUT_ERROR = 2
    LISTEN_ERROR = 3
    OUTPUT_CLOSED = 4


def _fail(status: ExitStatus, message: str) -> int:
    if os.environ.get("TAP_SEGMENT_WEBHOOK_TRACEBACK"):
        LOGGER.exception("%s", message)
    sys.stderr.write(f"tap-segment-webhook: error: {message}\n")
    return status


def main(argv: list[str] | None = None) -> int:
    """Run the tap and return its exit status."""
    from tap_segment_webhook.tap import TapSegmentWebhook

    try:
        # Without standalone mode, click returns the code of ctx.exit() instead of exiting.
        result = TapSegmentWebhook.cli.main(args=argv, prog_name="tap-segment-webhook", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        return ExitStatus.SUCCESS
    except ConfigValidationError as error:
        details = "; ".join(error.errors) if getattr(error, "errors", None) else str(error)
        return _fail(ExitStatus.CONFIG_ERROR, f"invalid config: {details}")
    except (ListenConfigError, ListenerStartError) as error:
        return _fail(ExitStatus.LISTEN_ERROR, str(error))
    except InputNotFoundError as error:
        return _fail(ExitStatus.INPUT_ERROR, str(error))
    except RejectsFileError as error:
        return _fail(ExitStatus.CONFIG_ERROR, str(error))
    except FileNotFoundError as error:
        return _fail(ExitStatus.CONFIG_ERROR, f"{error}. Check the --config, --state and --catalog paths.")
    except IsADirectoryError as error:
        return _fail(ExitStatus.INPUT_ERROR, str(error))
    except OutputClosedError as error:
        # Python would also fail to flush the closed stdout at exit, so it points at /dev/null.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process exits
        return _fail(ExitStatus.OUTPUT_CLOSED, str(error))
    return result if isinstance(result, int) else ExitStatus.SUCCESS


def run() -> None:
    """Console script entry point."""
    sys.exit(main())
