"""Run the installed tap in listen mode on a loopback port, alone or piped into target-postgres.

Every request in these tests goes to 127.0.0.1 on a port picked here. The tap's stdout passes
through a relay thread on its way to the target, so a test can read exactly what the tap
wrote, including its last line, while the target still reads a plain pipe with back-pressure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import typing as t
import uuid
from pathlib import Path

import requests

from helpers import Postgres, parse_singer_lines, venv_executable

# Seconds a tap or target may take to exit after its input or a signal ends the run.
EXIT_TIMEOUT_SECONDS = 60
# Seconds the listener may take to respond to its first `GET /health`.
READY_TIMEOUT_SECONDS = 20
# Seconds one HTTP request may take before the client gives up on it.
REQUEST_TIMEOUT_SECONDS = 10
# Streams the tap selects without a catalog. Alias is in the catalog but not selected.
DEFAULT_STREAMS = ("group", "identify", "page", "screen", "track")


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago.

    The tap needs the port in its config before it starts, so `listen_port: 0` is of no use
    here. Another process could take the port before the tap binds it, which is unlikely on
    a test machine.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_event(kind: str, message_id: str, user_id: str = "user-1") -> dict[str, t.Any]:
    """Return a Segment event of type `kind` in the shape a Webhooks destination posts."""
    event: dict[str, t.Any] = {
        "type": kind,
        "messageId": message_id,
        "userId": user_id,
        "timestamp": "2024-03-05T09:58:40.100Z",
        "receivedAt": "2024-03-05T09:58:40.300Z",
        "context": {"ip": "203.0.113.7"},
    }
    if kind == "track":
        event["event"] = "Order Completed"
        event["properties"] = {"revenue": 12.5}
    elif kind in ("page", "screen"):
        event["name"] = "Home"
    elif kind == "identify":
        event["traits"] = {"email": "user@example.com"}
    elif kind == "group":
        event["groupId"] = "group-1"
    elif kind == "alias":
        event["previousId"] = "user-0"
    return event


def _wait_for_health(url: str, process: subprocess.Popen, describe: t.Callable[[], str]) -> None:
    """Poll `GET /health` until it returns 200, or fail when the process exits or time runs out."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"tap exited with code {process.returncode} before listening\n{describe()}")
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"listener at {url} did not respond to GET /health within {READY_TIMEOUT_SECONDS} s\n{describe()}")


class _Relay(threading.Thread):
    """Copy the tap's stdout to the target's stdin and keep a copy of every byte."""

    def __init__(self, source: t.BinaryIO, sink: t.BinaryIO) -> None:
        super().__init__(name="tap-stdout-relay", daemon=True)
        self.source = source
        self.sink = sink
        self.data = bytearray()

    def run(self) -> None:
        fd = self.source.fileno()
        try:
            while chunk := os.read(fd, 65536):
                self.data += chunk
                try:
                    self.sink.write(chunk)
                    self.sink.flush()
                except BrokenPipeError:
                    # The target exited. Draining continues so that the tap never blocks on a full pipe.
                    continue
        finally:
            self.source.close()
            try:
                self.sink.close()
            except BrokenPipeError:
                pass


class _LineReader(threading.Thread):
    """Collect the lines a process writes to a pipe."""

    def __init__(self, source: t.BinaryIO) -> None:
        super().__init__(name="target-stdout-reader", daemon=True)
        self.source = source
        self.lines: list[str] = []

    def run(self) -> None:
        with self.source:
            for line in self.source:
                self.lines.append(line.decode("utf-8", errors="replace"))


class ListenTap:
    """A `tap-segment-webhook` process in listen mode, with its config, files and stdout.

    With `stdout=None` the test owns `process.stdout` and reads it when it wants to, which is
    how a stalled target is simulated.
    """

    def __init__(self, folder: Path, config: dict[str, t.Any], state: dict[str, t.Any] | None, stdout: t.Any) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.url = f"http://127.0.0.1:{config['listen_port']}"
        command = [str(venv_executable("tap-segment-webhook"))]
        config_path = folder / "tap-config.json"
        config_path.write_text(json.dumps(config), encoding="utf-8")
        command += ["--config", str(config_path)]
        if state is not None:
            state_path = folder / "state.json"
            state_path.write_text(json.dumps(state), encoding="utf-8")
            command += ["--state", str(state_path)]
        self.command = command
        self.stderr_path = folder / "tap.stderr"
        self.owns_stdout = stdout is None
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=stdout if stdout is not None else subprocess.PIPE,
                stderr=stderr,
                cwd=folder,
                env=process_env(),
            )

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def describe(self) -> str:
        return f"tap command: {' '.join(self.command)}\n--- tap stderr ---\n{self.stderr()}"

    def wait_ready(self) -> None:
        _wait_for_health(self.url, self.process, self.describe)

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def health(self) -> dict[str, t.Any]:
        return requests.get(f"{self.url}/health", timeout=REQUEST_TIMEOUT_SECONDS).json()

    def post_events(self, events: list[dict[str, t.Any]]) -> requests.Response:
        """Post `events` as one JSON array to the webhook path `/`."""
        return requests.post(self.url, json=events, timeout=REQUEST_TIMEOUT_SECONDS)

    def finish(self, signum: int | None = signal.SIGTERM) -> tuple[int, list[dict[str, t.Any]]]:
        """Send `signum` unless it is None, read stdout to its end and return the exit code and messages."""
        if signum is not None:
            self.send_signal(signum)
        try:
            stdout, _ = self.process.communicate(timeout=EXIT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"tap did not exit within {EXIT_TIMEOUT_SECONDS} s\n{self.describe()}") from None
        return self.process.returncode, parse_singer_lines(stdout.decode("utf-8"))

    def kill(self) -> None:
        """Kill the process if it still runs, and close the stdout pipe the test owns."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(EXIT_TIMEOUT_SECONDS)
        if self.owns_stdout and self.process.stdout is not None:
            self.process.stdout.close()


class ListenPipeline:
    """`tap-segment-webhook | target-postgres` with the tap in listen mode."""

    def __init__(
        self,
        folder: Path,
        config: dict[str, t.Any],
        target_config: dict[str, t.Any],
        state: dict[str, t.Any] | None = None,
    ) -> None:
        self.tap = ListenTap(folder, config, state, stdout=None)
        self.url = self.tap.url
        target_path = folder / "target-config.json"
        target_path.write_text(json.dumps(target_config), encoding="utf-8")
        self.target_stderr_path = folder / "target.stderr"
        with open(self.target_stderr_path, "wb") as stderr:
            self.target = subprocess.Popen(
                [str(venv_executable("target-postgres")), "--config", str(target_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=folder,
                env=process_env(),
            )
        assert self.tap.process.stdout is not None
        assert self.target.stdin is not None
        assert self.target.stdout is not None
        self.relay = _Relay(self.tap.process.stdout, self.target.stdin)
        self.relay.start()
        self.target_reader = _LineReader(self.target.stdout)
        self.target_reader.start()

    def describe(self) -> str:
        target_log = self.target_stderr_path.read_text(encoding="utf-8", errors="replace")
        return f"{self.tap.describe()}\n--- target-postgres stderr ---\n{target_log}"

    def wait_ready(self) -> None:
        _wait_for_health(self.url, self.tap.process, self.describe)

    def wait(self) -> tuple[int, int]:
        """Wait for the tap, then the target, to exit, and return both exit codes."""
        try:
            tap_code = self.tap.process.wait(EXIT_TIMEOUT_SECONDS)
            self.relay.join(EXIT_TIMEOUT_SECONDS)
            target_code = self.target.wait(EXIT_TIMEOUT_SECONDS)
            self.target_reader.join(EXIT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"pipeline did not exit within {EXIT_TIMEOUT_SECONDS} s\n{self.describe()}") from None
        return tap_code, target_code

    def stop(self) -> None:
        """Send SIGTERM to the tap, wait for both processes, and require exit code 0 from each."""
        self.tap.send_signal(signal.SIGTERM)
        codes = self.wait()
        if codes != (0, 0):
            raise AssertionError(f"tap and target exited with {codes}, expected (0, 0)\n{self.describe()}")

    def tap_messages(self) -> list[dict[str, t.Any]]:
        return parse_singer_lines(self.relay.data.decode("utf-8"))

    def target_states(self) -> list[dict[str, t.Any]]:
        """Return the STATE values the target printed, oldest first, without an incomplete last line."""
        states = []
        for line in self.target_reader.lines:
            if not line.endswith("\n"):
                continue
            states.append(json.loads(line))
        return states

    def kill(self) -> None:
        """Kill both processes if they still run, and wait for the relay and reader threads to close the pipes."""
        for process in (self.tap.process, self.target):
            if process.poll() is None:
                process.kill()
            process.wait(EXIT_TIMEOUT_SECONDS)
        self.relay.join(EXIT_TIMEOUT_SECONDS)
        self.target_reader.join(EXIT_TIMEOUT_SECONDS)


def process_env() -> dict[str, str]:
    """Return this environment without settings that could override a test's config files."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAP_SEGMENT_WEBHOOK_", "TARGET_POSTGRES_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def listen_config(folder: Path, **extra: t.Any) -> dict[str, t.Any]:
    """Return a listen-mode tap config on a free loopback port with its files under `folder`."""
    config: dict[str, t.Any] = {
        "mode": "listen",
        "listen_host": "127.0.0.1",
        "listen_port": free_port(),
        "archive_dir": str(folder / "archive"),
        "rejects_path": str(folder / "rejects.ndjson"),
        # The test machine's free disk space must not decide whether requests get 503.
        "archive_min_free_bytes": 0,
        # Frequent STATE messages give the target many positions to confirm.
        "state_interval_records": 50,
    }
    config.update(extra)
    return config


def unique_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


class EventSender(threading.Thread):
    """Post `count` single events to a webhook URL, retrying each until it gets 2xx.

    A failed post (no connection, a reset, a 5xx) is retried with the same messageId, as
    Segment does, every `retry_seconds` until `deadline` (a `time.monotonic()` value) or until
    `give_up` is set. `acked` lists the `(type, messageId)` of every event that got 2xx.
    """

    def __init__(
        self,
        url: str,
        name: str,
        count: int,
        deadline: float,
        give_up: threading.Event,
        retry_seconds: float = 0.05,
    ) -> None:
        super().__init__(name=f"sender-{name}", daemon=True)
        self.url = url
        self.sender_name = name
        self.count = count
        self.deadline = deadline
        self.give_up = give_up
        self.retry_seconds = retry_seconds
        self.acked: list[tuple[str, str]] = []
        self.sent: list[tuple[str, str]] = []
        self.unexpected: list[str] = []

    def run(self) -> None:
        with requests.Session() as session:
            for index in range(self.count):
                kind = DEFAULT_STREAMS[index % len(DEFAULT_STREAMS)]
                message_id = f"{self.sender_name}-{index}-{uuid.uuid4().hex[:8]}"
                self.sent.append((kind, message_id))
                if not self._post_until_acked(session, make_event(kind, message_id)):
                    return
                self.acked.append((kind, message_id))

    def _post_until_acked(self, session: requests.Session, event: dict[str, t.Any]) -> bool:
        while time.monotonic() < self.deadline and not self.give_up.is_set():
            try:
                response = session.post(self.url, json=event, timeout=REQUEST_TIMEOUT_SECONDS)
            except requests.RequestException:
                # The listener is down or restarting; a new connection is made on the next try.
                time.sleep(self.retry_seconds)
                continue
            if 200 <= response.status_code < 300:
                return True
            if response.status_code < 500:
                self.unexpected.append(f"{response.status_code} {response.text}")
                return False
            time.sleep(self.retry_seconds)
        return False


def acked_by_type(senders: t.Iterable[EventSender]) -> dict[str, set[str]]:
    """Return the acknowledged messageIds of all senders, by event type."""
    ids: dict[str, set[str]] = {kind: set() for kind in DEFAULT_STREAMS}
    for sender in senders:
        for kind, message_id in sender.acked:
            ids[kind].add(message_id)
    return ids


def loaded_ids(postgres: Postgres, schema: str, table: str) -> list[str]:
    """Return the message_id of every row of `table`, duplicates included."""
    if table not in postgres.tables(schema):
        return []
    return postgres.column_values(schema, table, "message_id")
