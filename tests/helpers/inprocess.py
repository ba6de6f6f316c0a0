"""Run the tap in this process and collect its Singer messages; faster than a subprocess."""

from __future__ import annotations

import io
import json
import typing as t

from tap_segment_webhook.sync import SyncDriver
from tap_segment_webhook.tap import TapSegmentWebhook


class Output(t.NamedTuple):
    """Messages one sync wrote, and its run report."""

    messages: list[dict[str, t.Any]]
    report: dict[str, t.Any]

    def records(self, stream: str | None = None) -> list[dict[str, t.Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and stream in (None, m["stream"])]

    def schemas(self, stream: str) -> list[dict[str, t.Any]]:
        return [m["schema"] for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream]

    def states(self) -> list[dict[str, t.Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, t.Any]:
        return self.states()[-1]


def sync(
    config: dict[str, t.Any],
    *,
    state: dict[str, t.Any] | None = None,
    catalog: dict[str, t.Any] | None = None,
) -> Output:
    """Run one sync with the given config, state and catalog dicts."""
    tap = TapSegmentWebhook(config=config, state=state, catalog=catalog, parse_env_config=False)
    output = io.BytesIO()
    report = SyncDriver(tap, output=output).run()
    messages = [json.loads(line) for line in output.getvalue().splitlines()]
    return Output(messages, report)


def discover(config: dict[str, t.Any]) -> dict[str, t.Any]:
    """Return the catalog `--discover` would print for this config."""
    tap = TapSegmentWebhook(config=config, parse_env_config=False, validate_config=False, setup_mapper=False)
    tap._sample_input = True  # noqa: SLF001 - what run_discovery sets before printing
    return tap.catalog_dict
