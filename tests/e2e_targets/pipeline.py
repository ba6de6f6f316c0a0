"""Pipe the installed tap into any Singer target, as `tap | target` in a shell."""

from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

from helpers import venv_executable
from helpers.singer import run_pipe

def process_environment() -> dict[str, str]:
    """Return this process's environment without tap or target settings from the shell."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAP_SEGMENT_WEBHOOK_", "TARGET_"))
    }


def pipe(
    tap_config: dict[str, t.Any],
    target: Path,
    target_config: dict[str, t.Any],
    folder: Path,
    *,
    catalog: dict[str, t.Any] | None = None,
) -> str:
    """Run `tap-segment-webhook | TARGET` in `folder` and return the target's stdout.

    Config and catalog files are written to `folder`, which is also the working folder of
    both processes. Raises PipelineError, with both stderr texts, when either process exits
    with a non-zero code.
    """
    tap_config_path = folder / "tap-config.json"
    tap_config_path.write_text(json.dumps(tap_config), encoding="utf-8")
    target_config_path = folder / f"{target.name}-config.json"
    target_config_path.write_text(json.dumps(target_config), encoding="utf-8")
    tap_command = [str(venv_executable("tap-segment-webhook")), "--config", str(tap_config_path)]
    if catalog is not None:
        catalog_path = folder / "catalog.json"
        catalog_path.write_text(json.dumps(catalog), encoding="utf-8")
        tap_command += ["--catalog", str(catalog_path)]
    target_command = [str(target), "--config", str(target_config_path)]
    return run_pipe(tap_command, target_command, folder, folder, process_environment()).decode(
        "utf-8", errors="replace"
    )
