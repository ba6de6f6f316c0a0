"""Unusual event names all go to the one track stream, unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from case_kit import case_file, load_into, replay, write_lines
from helpers import ALL_STREAMS, DEFAULT_STREAMS, run_tap

CASE = "09-event-names"
INPUT = case_file(CASE, "input.ndjson")
SENT = [json.loads(line) for line in INPUT.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("events"))


def test_eleven_track_records(run) -> None:
    assert len(run.records("track")) == 11


@pytest.mark.parametrize("message", SENT, ids=[m["messageId"] for m in SENT])
def test_event_exactly_as_sent(run, message: dict) -> None:
    assert run.by_id("track")[message["messageId"]]["event"] == message["event"]


def test_no_stream_per_event(run) -> None:
    streams = {m["stream"] for m in run.result.messages if "stream" in m}

    assert streams == set(DEFAULT_STREAMS)


def test_no_column_from_event_name(run) -> None:
    names = {name for name in run.columns("track")}

    assert [name for name in names if "order" in name or "select" in name] == []


def test_discover_fixed_streams() -> None:
    result = run_tap({"input_paths": [str(INPUT)]}, args=["--discover"]).check()
    catalog = json.loads(result.stdout)

    assert sorted(entry["tap_stream_id"] for entry in catalog["streams"]) == sorted(ALL_STREAMS)


def test_load_one_table(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path)
    events = postgres.query(f'SELECT message_id, event FROM "{pg_schema}"."track" ORDER BY message_id')

    assert postgres.tables(pg_schema) == set(DEFAULT_STREAMS)
    assert events == [(m["messageId"], m["event"]) for m in SENT]


# Other members of the family: names that equal stream or table names, SQL, control-like
# characters, and very long multibyte names.
FAMILY_EVENTS = [
    "page",
    "Identify",
    "tracks",
    "alias",
    "DROP TABLE track; --",
    "Robert'); --",
    "events\\n",
    "line\nbreak",
    "é" * 300,
    "🙂" * 100,
    "  padded  ",
    "$.properties",
]


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    folder = tmp_path_factory.mktemp("family")
    messages = [
        {"type": "track", "messageId": f"fe-{index:02d}", "userId": "u-1", "event": event}
        for index, event in enumerate(FAMILY_EVENTS)
    ]
    source = write_lines(folder / "events.ndjson", messages)
    return source, replay([source], folder / "out")


@pytest.mark.parametrize("index", range(len(FAMILY_EVENTS)))
def test_family_event_as_sent(family, index: int) -> None:
    _, run = family

    assert run.by_id("track")[f"fe-{index:02d}"]["event"] == FAMILY_EVENTS[index]


def test_family_only_track_records(family) -> None:
    _, run = family

    assert run.streams_with_records() == {"track"}


def test_family_load(family, tmp_path: Path, postgres, pg_schema: str) -> None:
    source, _ = family
    load_into(postgres, pg_schema, [source], tmp_path)
    events = postgres.query(f'SELECT event FROM "{pg_schema}"."track" ORDER BY message_id')

    assert [event for (event,) in events] == FAMILY_EVENTS
    assert postgres.tables(pg_schema) == set(DEFAULT_STREAMS)
