"""Run the installed tap, alone or piped into target-postgres, as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

# Seconds one tap or target process may run before the test fails. The fixtures
# in this repository load in a few seconds; the limit only stops a hung process.
PROCESS_TIMEOUT_SECONDS = 300

DEFAULT_SQLALCHEMY_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Flags after which stdout is a document (about text, a catalog), not Singer messages.
NON_SYNC_FLAGS = frozenset({"--about", "--discover", "--version", "--help"})


def venv_executable(name: str) -> Path:
    """Return the console script `name` installed beside the running Python.

    Tests run the tap and the target exactly as a user would, through the
    scripts that `pip install` created in the same environment as pytest.
    """
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(
            f"{name} is not installed next to {sys.executable}; "
            "install the project with: pip install -e '.[test]'"
        )
    return path


@dataclass
class TapResult:
    """Output of one tap process: its Singer messages, raw output and exit code."""

    messages: list[dict[str, Any]]
    stdout: str
    stderr: str
    returncode: int
    args: list[str] = field(default_factory=list)

    def of_type(self, message_type: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == message_type]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        """Return the record bodies, of one stream or of all streams."""
        return [
            m["record"]
            for m in self.of_type("RECORD")
            if stream is None or m["stream"] == stream
        ]

    def schemas(self, stream: str) -> list[dict[str, Any]]:
        """Return every SCHEMA message of `stream`, in output order."""
        return [m for m in self.of_type("SCHEMA") if m["stream"] == stream]

    @property
    def final_state(self) -> dict[str, Any] | None:
        states = self.of_type("STATE")
        return states[-1]["value"] if states else None

    def check(self) -> "TapResult":
        """Raise with the tap's stderr unless it exited with code 0."""
        if self.returncode != 0:
            raise AssertionError(
                f"tap exited with code {self.returncode}: {' '.join(self.args)}\n"
                f"--- stderr ---\n{self.stderr}"
            )
        return self


def parse_singer_lines(text: str) -> list[dict[str, Any]]:
    """Parse Singer output, one JSON message a line, and raise on any other line."""
    messages = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            messages.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise AssertionError(
                f"stdout line {number} is not a JSON message ({error}): {line[:200]!r}"
            ) from None
    return messages


def _write_json(folder: Path, name: str, value: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def _tap_command(
    folder: Path,
    config: dict,
    state: dict | None,
    catalog: dict | None,
    args: Sequence[str],
) -> list[str]:
    command = [str(venv_executable("tap-segment-webhook"))]
    command += ["--config", str(_write_json(folder, "tap-config.json", config))]
    if state is not None:
        command += ["--state", str(_write_json(folder, "state.json", state))]
    if catalog is not None:
        command += ["--catalog", str(_write_json(folder, "catalog.json", catalog))]
    command += list(args)
    return command


def _process_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    # Settings from the developer's shell or a .env file must not leak into
    # the configuration a test passes explicitly.
    for name in list(env):
        if name.startswith("TAP_SEGMENT_WEBHOOK_") or name.startswith("TARGET_POSTGRES_"):
            del env[name]
    env.setdefault("PYTHONUNBUFFERED", "1")
    if extra:
        env.update(extra)
    return env


def run_tap(
    config: dict,
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    args: Iterable[str] = (),
    stdin: bytes | str | None = None,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
) -> TapResult:
    """Run `tap-segment-webhook` with `config` and collect its Singer messages.

    Config, state and catalog go to temporary JSON files. The process runs in a
    temporary working folder unless `cwd` is given, so default output paths such
    as the rejects file never land in the repository. A non-zero exit code is
    returned, not raised: call `TapResult.check()` to require success. With
    --about or --discover, `messages` stays empty and `stdout` has the output.
    """
    with tempfile.TemporaryDirectory(prefix="tap-run-") as temp:
        folder = Path(temp)
        command = _tap_command(folder, config, state, catalog, list(args))
        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8")
        completed = subprocess.run(
            command,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            cwd=cwd if cwd is not None else folder,
            env=_process_env(env),
            timeout=PROCESS_TIMEOUT_SECONDS,
        )
    stdout = completed.stdout.decode("utf-8", errors="replace")
    stderr = completed.stderr.decode("utf-8", errors="replace")
    messages = []
    if completed.returncode == 0 and not NON_SYNC_FLAGS.intersection(command):
        messages = parse_singer_lines(stdout)
    return TapResult(messages, stdout, stderr, completed.returncode, command)


def run_pipe(
    tap_command: list[str],
    target_command: list[str],
    log_folder: Path,
    working_folder: Path,
    env: dict[str, str],
) -> bytes:
    """Run `tap_command | target_command` as a shell pipeline would and return the target's stdout.

    Raises PipelineError, with both stderr texts, when either process exits with a non-zero
    code, and re-raises TimeoutExpired after killing both.
    """
    target_name = Path(target_command[0]).name
    # stderr goes to files, because a process blocks once a pipe that is
    # read only at the end fills up.
    with (
        open(log_folder / "tap.stderr", "w+b") as tap_stderr,
        open(log_folder / "target.stderr", "w+b") as target_stderr,
    ):
        tap = subprocess.Popen(
            tap_command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=tap_stderr,
            cwd=working_folder,
            env=env,
        )
        try:
            target = subprocess.Popen(
                target_command,
                stdin=tap.stdout,
                stdout=subprocess.PIPE,
                stderr=target_stderr,
                cwd=working_folder,
                env=env,
            )
        except BaseException:
            tap.kill()
            tap.wait()
            raise
        # Only the target has the read end open now, so it gets end of file
        # when the tap exits.
        assert tap.stdout is not None
        tap.stdout.close()
        try:
            target_stdout, _ = target.communicate(timeout=PROCESS_TIMEOUT_SECONDS)
            tap.wait(timeout=PROCESS_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            tap.kill()
            target.kill()
            tap.wait()
            target.wait()
            raise
        tap_stderr.seek(0)
        target_stderr.seek(0)
        tap_log = tap_stderr.read().decode("utf-8", errors="replace")
        target_log = target_stderr.read().decode("utf-8", errors="replace")
    if tap.returncode != 0 or target.returncode != 0:
        raise PipelineError(
            f"pipeline failed: tap exited with {tap.returncode}, "
            f"{target_name} exited with {target.returncode}\n"
            f"tap command: {' '.join(tap_command)}\n"
            f"--- tap stderr ---\n{tap_log}\n"
            f"--- {target_name} stderr ---\n{target_log}"
        )
    return target_stdout


class PipelineError(AssertionError):
    """The tap or the target exited with a non-zero code."""


def load(
    config: dict,
    schema: str,
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    sqlalchemy_url: str = DEFAULT_SQLALCHEMY_URL,
    target_config: dict | None = None,
    cwd: str | os.PathLike | None = None,
) -> dict | None:
    """Run `tap-segment-webhook | target-postgres` into `schema` and return the final state.

    The two processes are connected by an OS pipe, as in a shell pipeline. The
    returned state is the last JSON line that the target printed on stdout, or
    None when it printed none. Raises PipelineError, with both stderr texts,
    when either process exits with a non-zero code.
    """
    with tempfile.TemporaryDirectory(prefix="tap-load-") as temp:
        folder = Path(temp)
        tap_command = _tap_command(folder, config, state, catalog, [])
        settings = {"sqlalchemy_url": sqlalchemy_url, "default_target_schema": schema}
        settings.update(target_config or {})
        target_command = [
            str(venv_executable("target-postgres")),
            "--config",
            str(_write_json(folder, "target-config.json", settings)),
        ]
        working_folder = Path(cwd) if cwd is not None else folder
        target_stdout = run_pipe(tap_command, target_command, folder, working_folder, _process_env(None))
    states = [line for line in target_stdout.decode("utf-8").splitlines() if line.strip()]
    return json.loads(states[-1]) if states else None
