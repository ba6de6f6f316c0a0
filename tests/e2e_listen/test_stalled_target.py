"""A target that stops reading: the archive absorbs the events until its budget, then the listener responds 503."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests
from listen_processes import ListenTap, listen_config, make_event, unique_id

from helpers import parse_singer_lines

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EVENTS_PER_POST = 50
# About 1 KiB of record per event, so a few hundred events fill a 64 KiB pipe and the
# tap's 256 KiB output buffer.
PADDING = "p" * 1000


def padded_events(count: int) -> list[dict]:
    events = []
    for index in range(count):
        event = make_event("track", unique_id("stall"))
        event["properties"] = {"index": index, "padding": PADDING}
        events.append(event)
    return events


def read_until_emitted(tap: ListenTap, expected: int) -> list[dict]:
    """Read the tap's stdout until `expected` records were emitted, stop it, and return its messages."""
    assert tap.process.stdout is not None
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(tap.process.stdout.readline, b"")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while tap.health()["emission"]["records_emitted"] < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    tap.send_signal(signal.SIGTERM)
    assert tap.process.wait(60) == 0, tap.describe()
    reader.join(30)
    return parse_singer_lines(b"".join(chunks).decode("utf-8"))


def emitted_ids(messages: list[dict]) -> list[str]:
    return [message["record"]["message_id"] for message in messages if message["type"] == "RECORD"]


def test_stalled_target_keeps_acking(tmp_path, start_tap) -> None:
    tap = start_tap(listen_config(tmp_path))
    tap.wait_ready()
    acked: list[str] = []
    statuses = []
    for _ in range(40):
        events = padded_events(EVENTS_PER_POST)
        response = tap.post_events(events)
        statuses.append(response.status_code)
        if response.status_code == 200:
            acked.extend(event["messageId"] for event in events)
    time.sleep(2.5)
    emission = tap.health()["emission"]

    assert set(statuses) == {200}
    # The pipe is full, so the tap could hand only part of the events to its output.
    assert emission["records_emitted"] < len(acked)
    assert emission["archive_bytes_followed"] > 0
    # GET /health shows the stall as the time since the last record.
    assert emission["seconds_since_last_record"] >= 1.0

    messages = read_until_emitted(tap, len(acked))
    assert emitted_ids(messages) == acked
    assert messages[-1]["type"] == "STATE"


def test_archive_budget_answers_503(tmp_path, start_tap) -> None:
    tap = start_tap(listen_config(tmp_path, archive_max_bytes=300_000))
    tap.wait_ready()
    acked: list[str] = []
    refused: list[str] = []
    retry_after = None
    # Each post archives about 60 KB, so the budget is reached within a few posts.
    for _ in range(20):
        events = padded_events(EVENTS_PER_POST)
        response = tap.post_events(events)
        if response.status_code == 200:
            acked.extend(event["messageId"] for event in events)
            continue
        assert response.status_code == 503, response.text
        retry_after = response.headers.get("Retry-After")
        refused.extend(event["messageId"] for event in events)
        break

    assert len(acked) >= 2 * EVENTS_PER_POST
    assert refused != []
    assert retry_after is not None
    assert tap.health()["archive"]["rejected_full"] >= 1

    messages = read_until_emitted(tap, len(acked))
    emitted = emitted_ids(messages)
    assert emitted == acked
    assert set(refused).isdisjoint(emitted)


def test_sigterm_stops_intake_while_stalled(tmp_path, start_tap) -> None:
    tap = start_tap(listen_config(tmp_path))
    tap.wait_ready()
    acked: list[str] = []
    for _ in range(40):
        events = padded_events(EVENTS_PER_POST)
        if tap.post_events(events).status_code == 200:
            acked.extend(event["messageId"] for event in events)
    tap.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    # Intake has stopped although stdout is still full: a new request is refused or gets 503.
    try:
        late_status = tap.post_events(padded_events(1)).status_code
    except requests.ConnectionError:
        late_status = None

    assert late_status in (None, 503)

    assert tap.process.stdout is not None
    output = tap.process.stdout.read()
    assert tap.process.wait(60) == 0, tap.describe()
    messages = parse_singer_lines(output.decode("utf-8"))
    assert emitted_ids(messages) == acked
    assert messages[-1]["type"] == "STATE"
