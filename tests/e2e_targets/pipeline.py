"""Pipe the installed tap into any Singer target, as `tap | target` in a shell."""

from __future__ import annotations

import json
import os
import subprocess
import typing as t
from pathlib import Path

from helpers import PipelineError, venv_executable

# Seconds the tap or the target may run; the fixtures load in a few seconds.
PROCESS_TIMEOUT_SECONDS = 300


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
    env = process_environment()
    # stderr goes to files, because a process blocks once a pipe that is read only at the
    # end fills up.
    with (
        open(folder / "tap.stderr", "w+b") as tap_stderr,
        open(folder / "target.stderr", "w+b") as target_stderr,
    ):
        tap = subprocess.Popen(
            tap_command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=tap_stderr,
            cwd=folder,
            env=env,
        )
        try:
            target_process = subprocess.Popen(
                target_command,
                stdin=tap.stdout,
                stdout=subprocess.PIPE,
                stderr=target_stderr,
                cwd=folder,
                env=env,
            )
        except BaseException:
            tap.kill()
            tap.wait()
            raise
        # Only the target has the read end open now, so it gets end of file when the tap exits.
        assert tap.stdout is not None
        tap.stdout.close()
        try:
            stdout, _ = target_process.communicate(timeout=PROCESS_TIMEOUT_SECONDS)
            tap.wait(timeout=PROCESS_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            tap.kill()
            target_process.kill()
            tap.wait()
            target_process.wait()
            raise
        tap_stderr.seek(0)
        target_stderr.seek(0)
        tap_log = tap_stderr.read().decode("utf-8", errors="replace")
        target_log = target_stderr.read().decode("utf-8", errors="replace")
    if tap.returncode != 0 or target_process.returncode != 0:
        raise PipelineError(
            f"pipeline failed: tap exited with {tap.returncode}, "
            f"{target.name} exited with {target_process.returncode}\n"
            f"--- tap stderr ---\n{tap_log}\n--- {target.name} stderr ---\n{target_log}"
        )
    return stdout.decode("utf-8", errors="replace")
