"""Concurrent senders while the tap is killed or stopped: no acknowledged event is lost or doubled."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from listen_processes import (
    DEFAULT_STREAMS,
    EventSender,
    ListenPipeline,
    acked_by_type,
    listen_config,
    loaded_ids,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SENDERS = 8
EVENTS_PER_SENDER = 100
TOTAL_EVENTS = SENDERS * EVENTS_PER_SENDER
# Seconds the senders may take in all, restarts included.
SEND_SECONDS = 90


def start_senders(url: str, give_up: threading.Event) -> list[EventSender]:
    deadline = time.monotonic() + SEND_SECONDS
    senders = [EventSender(url, f"s{number}", EVENTS_PER_SENDER, deadline, give_up) for number in range(SENDERS)]
    for sender in senders:
        sender.start()
    return senders


def wait_for_acks(senders: list[EventSender], count: int, pipeline: ListenPipeline) -> int:
    """Wait until the senders have `count` acknowledgements in all, and return the number reached."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        acked = sum(len(sender.acked) for sender in senders)
        if acked >= count:
            return acked
        time.sleep(0.005)
    raise AssertionError(f"only {acked} of {count} events acknowledged in 30 s\n{pipeline.describe()}")


def join_senders(senders: list[EventSender]) -> None:
    for sender in senders:
        sender.join(SEND_SECONDS + 10)
        assert not sender.is_alive(), f"{sender.name} still running"
        assert sender.unexpected == [], sender.name


def check_loaded_once(postgres, schema: str, senders: list[EventSender]) -> None:
    """Check that every acknowledged event is in its table exactly once, and nothing unsent is."""
    acked = acked_by_type(senders)
    sent = {message_id for sender in senders for _, message_id in sender.sent}
    for stream in DEFAULT_STREAMS:
        rows = loaded_ids(postgres, schema, stream)
        assert len(rows) == len(set(rows)), f"{stream}: duplicate message_id rows"
        missing = acked[stream] - set(rows)
        assert missing == set(), f"{stream}: {len(missing)} acknowledged events missing"
        assert set(rows) <= sent, f"{stream}: rows with messageIds never sent"


def test_sigkill_restart_loses_nothing(tmp_path, start_pipeline, postgres, pg_schema) -> None:
    config = listen_config(tmp_path)
    first = start_pipeline(config)
    first.wait_ready()
    give_up = threading.Event()
    senders = start_senders(first.url, give_up)
    try:
        acked_at_kill = wait_for_acks(senders, TOTAL_EVENTS // 4, first)
        first.tap.send_signal(signal.SIGKILL)
        tap_code, _ = first.wait()
        assert tap_code == -signal.SIGKILL
        assert acked_at_kill < TOTAL_EVENTS, "senders finished before the kill"

        # When the tap dies the target reads end of file, loads what it has and prints its
        # last STATE. An incomplete last line can make it exit with an error instead, and the
        # STATE it printed before that still counts.
        states = first.target_states()
        assert states, f"target printed no STATE before the kill\n{first.describe()}"
        second = start_pipeline(config, state=states[-1])
        second.wait_ready()
        join_senders(senders)
    finally:
        give_up.set()
    total_acked = sum(len(sender.acked) for sender in senders)
    assert total_acked == TOTAL_EVENTS
    second.stop()

    check_loaded_once(postgres, pg_schema, senders)
    loaded = sum(len(loaded_ids(postgres, pg_schema, stream)) for stream in DEFAULT_STREAMS)
    assert loaded == TOTAL_EVENTS


def test_sigterm_under_load_keeps_acks(tmp_path, start_pipeline, postgres, pg_schema) -> None:
    pipeline = start_pipeline(listen_config(tmp_path))
    pipeline.wait_ready()
    give_up = threading.Event()
    senders = start_senders(pipeline.url, give_up)
    try:
        wait_for_acks(senders, TOTAL_EVENTS // 4, pipeline)
        pipeline.tap.send_signal(signal.SIGTERM)
        tap_code, target_code = pipeline.wait()
    finally:
        # Senders retry until the deadline, but with the tap gone nothing more can be acknowledged.
        give_up.set()
    join_senders(senders)

    assert tap_code == 0, pipeline.describe()
    assert target_code == 0, pipeline.describe()
    acked = sum(len(sender.acked) for sender in senders)
    assert acked < TOTAL_EVENTS, "senders finished before SIGTERM"
    messages = pipeline.tap_messages()
    assert messages[-1]["type"] == "STATE"
    assert pipeline.target_states()[-1] == messages[-1]["value"]
    check_loaded_once(postgres, pg_schema, senders)
