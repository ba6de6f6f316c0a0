"""Capture live traffic from segment-analytics-python and replay it through the tap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import (
    DEFAULT_STREAMS,
    captured_messages,
    count_by_type,
    message_ids_by_type,
    run_tap,
)
from helpers.segment import read_body

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENT_FIXTURES = Path(__file__).parent.parent / "fixtures" / "segment_client"
CAPTURE_SCRIPT = CLIENT_FIXTURES / "capture.py"
COMMITTED = CLIENT_FIXTURES / "captured"


@pytest.fixture(scope="module")
def live_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run capture.py: the real client posts to a capture server on 127.0.0.1."""
    output = tmp_path_factory.mktemp("live-capture")
    completed = subprocess.run(
        [sys.executable, str(CAPTURE_SCRIPT), str(output)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return output


def test_capture_writes_plain_and_gzip(live_capture: Path) -> None:
    files = sorted(path.name for path in live_capture.iterdir())
    plain = [name for name in files if name.endswith(".json")]
    gzipped = [name for name in files if name.endswith(".json.gz")]

    assert plain, files
    assert gzipped, files
    for name in plain:
        assert (live_capture / name).read_bytes().startswith(b"{")
    for name in gzipped:
        assert (live_capture / name).read_bytes()[:2] == b"\x1f\x8b"


def test_live_capture_matches_committed(live_capture: Path) -> None:
    live = captured_messages(live_capture)
    committed = captured_messages(COMMITTED)

    assert count_by_type(live) == count_by_type(committed)
    assert message_ids_by_type(live) == message_ids_by_type(committed)


def test_replay_of_live_capture(live_capture: Path) -> None:
    messages = captured_messages(live_capture)
    expected_ids = message_ids_by_type(messages)

    result = run_tap({"input_paths": [str(live_capture)]}).check()

    for stream in DEFAULT_STREAMS:
        ids = [record["message_id"] for record in result.records(stream)]
        assert sorted(ids) == sorted(expected_ids[stream]), stream
    assert result.records("alias") == []
    assert result.final_state is not None


def test_replay_gzip_body_from_stdin() -> None:
    (body,) = COMMITTED.glob("*.json.gz")
    expected_ids = {
        message["messageId"]
        for message in read_body(body)["batch"]
        if message["type"] in DEFAULT_STREAMS
    }

    result = run_tap({"input_paths": ["-"]}, stdin=body.read_bytes()).check()

    assert {record["message_id"] for record in result.records()} == expected_ids
