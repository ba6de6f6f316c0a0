"""Duplicate message ids: Segment retries and replays deliver the same messageId again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from case_kit import GENERATED_ID, case_file, load_into, replay, write_gzip, write_lines

CASE = "01-duplicate-ids"
INPUT = case_file(CASE, "input.ndjson")
BATCH = case_file(CASE, "batch.json")


@pytest.fixture(scope="module")
def input_run(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("input"))


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory):
    return replay([BATCH], tmp_path_factory.mktemp("batch"))


def test_input_track_one_record(input_run) -> None:
    assert input_run.ids("track") == ["dup-01"]


def test_input_identify_keeps_same_id(input_run) -> None:
    assert input_run.ids("identify") == ["dup-01"]


def test_input_report_counts_duplicate(input_run) -> None:
    assert input_run.stream_report("track")["duplicates_skipped"] == 1


def test_input_report_identify_no_duplicate(input_run) -> None:
    assert input_run.stream_report("identify")["duplicates_skipped"] == 0


def test_input_first_delivery_wins(input_run) -> None:
    (record,) = input_run.records("track")

    assert record["received_at"] == "2025-03-01T08:00:00.200Z"


def test_batch_page_two_records(batch_run) -> None:
    assert batch_run.ids("page") == ["dup-02", "dup-03"]


def test_batch_report_counts_duplicate(batch_run) -> None:
    assert batch_run.stream_report("page")["duplicates_skipped"] == 1


@pytest.mark.parametrize("source", [INPUT, BATCH], ids=["input", "batch"])
def test_replay_without_state_same_records(source: Path, tmp_path: Path) -> None:
    first = replay([source], tmp_path / "first")
    second = replay([source], tmp_path / "second")

    assert second.records() == first.records()


@pytest.mark.parametrize("source", [INPUT, BATCH], ids=["input", "batch"])
def test_replay_with_state_no_records(source: Path, tmp_path: Path) -> None:
    first = replay([source], tmp_path / "first")
    second = replay([source], tmp_path / "second", state=first.result.final_state)

    assert first.records() != []
    assert second.records() == []


LOADED_ROWS = {"input": {"track": 1, "identify": 1, "page": 0}, "batch": {"track": 0, "identify": 0, "page": 2}}


@pytest.mark.parametrize("source", ["input", "batch"])
def test_load_one_row_per_id(source: str, tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT if source == "input" else BATCH], tmp_path)

    for table, expected in LOADED_ROWS[source].items():
        rows = postgres.query(
            f'SELECT count(*), count(DISTINCT message_id) FROM "{pg_schema}"."{table}"'
        )
        assert rows == [(expected, expected)], table


# Other members of the family: ids that differ only by padding, numbers that equal strings,
# retries split over two files, and identical messages without any messageId.
def _padded_ids(folder: Path) -> list[Path]:
    batch = {
        "batch": [
            {"type": "track", "messageId": "dup-10", "event": "A"},
            {"type": "track", "messageId": " dup-10\t", "event": "A"},
            {"type": "track", "messageId": "dup-11", "event": "B"},
        ]
    }
    return [write_gzip(folder / "padded.json.gz", json.dumps(batch).encode())]


def _numeric_ids(folder: Path) -> list[Path]:
    return [
        write_lines(
            folder / "numeric.ndjson",
            [
                {"type": "screen", "messageId": 7, "name": "S"},
                {"type": "screen", "messageId": "7", "name": "S"},
                {"type": "screen", "messageId": 8, "name": "S"},
            ],
        )
    ]


def _split_over_files(folder: Path) -> list[Path]:
    message = {"type": "group", "messageId": "dup-20", "groupId": "g-1", "traits": {"n": 1}}
    retry = dict(message, receivedAt="2025-03-01T08:00:09Z")
    return [
        write_lines(folder / "a.ndjson", [message]),
        write_lines(folder / "b.ndjson", [retry, dict(message, messageId="dup-21")]),
    ]


def _missing_ids(folder: Path) -> list[Path]:
    message = {"type": "identify", "userId": "u-1", "traits": {"plan": "pro"}}
    return [write_lines(folder / "missing.ndjson", [message, message, dict(message, userId="u-2")])]


FAMILY = {
    "padded": (_padded_ids, "track", 2),
    "numeric": (_numeric_ids, "screen", 2),
    "two-files": (_split_over_files, "group", 2),
    "missing-ids": (_missing_ids, "identify", 2),
}


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_one_record_per_id(name: str, tmp_path: Path) -> None:
    build, stream, expected = FAMILY[name]
    run = replay(build(tmp_path / "in"), tmp_path / "out")
    ids = run.ids(stream)

    assert len(ids) == expected
    assert len(set(ids)) == expected
    assert run.stream_report(stream)["duplicates_skipped"] == 1


def test_family_missing_ids_generated(tmp_path: Path) -> None:
    run = replay(_missing_ids(tmp_path / "in"), tmp_path / "out")

    for message_id in run.ids("identify"):
        assert GENERATED_ID.match(message_id), message_id


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_load_one_row_per_id(name: str, tmp_path: Path, postgres, pg_schema: str) -> None:
    build, stream, expected = FAMILY[name]
    load_into(postgres, pg_schema, build(tmp_path / "in"), tmp_path / "out")
    rows = postgres.query(f'SELECT count(*), count(DISTINCT message_id) FROM "{pg_schema}"."{stream}"')

    assert rows == [(expected, expected)]
