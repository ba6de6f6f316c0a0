"""How listen-mode runs end: `--test` and `--discover` return, and time limits stop the listener."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from listen_processes import listen_config, make_event, process_env, unique_id

from helpers import venv_executable

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Seconds `--test` or `--discover` may take. Both read the archive folder and never start the listener.
COMMAND_TIMEOUT_SECONDS = 30


@pytest.mark.parametrize("flag", ["--test", "--test=schema", "--discover"])
def test_command_returns(tmp_path, flag) -> None:
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(listen_config(tmp_path)), encoding="utf-8")
    started = time.monotonic()
    completed = subprocess.run(
        [str(venv_executable("tap-segment-webhook")), "--config", str(config_path), flag],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=tmp_path,
        env=process_env(),
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    elapsed = time.monotonic() - started

    assert completed.returncode == 0, completed.stderr.decode()
    assert elapsed < 15
    assert b"Listening on" not in completed.stderr
    if flag == "--discover":
        streams = {entry["tap_stream_id"] for entry in json.loads(completed.stdout)["streams"]}
        assert streams == {"alias", "group", "identify", "page", "screen", "track"}


def test_max_run_seconds_ends_run(tmp_path, start_tap) -> None:
    tap = start_tap(listen_config(tmp_path, max_run_seconds=3))
    started = time.monotonic()
    tap.wait_ready()
    event = make_event("track", unique_id("max-run"))
    assert tap.post_events([event]).status_code == 200

    code, messages = tap.finish(signum=None)
    elapsed = time.monotonic() - started

    assert code == 0, tap.describe()
    assert elapsed >= 3
    assert elapsed < 15
    assert messages[-1]["type"] == "STATE"
    records = [message["record"]["message_id"] for message in messages if message["type"] == "RECORD"]
    assert records == [event["messageId"]]


def test_idle_timeout_ends_run(tmp_path, start_tap) -> None:
    tap = start_tap(listen_config(tmp_path, idle_timeout_seconds=1.5))
    tap.wait_ready()
    sent = []
    # Posts every 0.5 s keep the run going for longer than the idle timeout.
    for _ in range(6):
        event = make_event("page", unique_id("idle"))
        assert tap.post_events([event]).status_code == 200
        sent.append(event["messageId"])
        time.sleep(0.5)
    still_running = tap.process.poll() is None
    last_post = time.monotonic()

    code, messages = tap.finish(signum=None)
    idle = time.monotonic() - last_post

    assert still_running
    assert code == 0, tap.describe()
    assert idle < 10
    assert messages[-1]["type"] == "STATE"
    records = [message["record"]["message_id"] for message in messages if message["type"] == "RECORD"]
    assert records == sent
    positions = messages[-1]["value"]["listen"]["segments"]
    assert sum(entry["line"] for entry in positions.values()) == len(sent)
