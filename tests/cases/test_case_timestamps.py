"""Timestamps in many shapes: written as RFC 3339 UTC, or kept as text when unparseable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from case_kit import case_file, is_rfc3339, load_into, replay, schema_violations, write_lines

CASE = "06-timestamps"
INPUT = case_file(CASE, "input.ndjson")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("flat"))


def test_twelve_records(run) -> None:
    assert len(run.records("page")) == 12


def test_nothing_rejected(run) -> None:
    assert run.rejects == []


def test_records_match_schema(run) -> None:
    assert schema_violations(run.result.messages) == []


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [
        ("ts-00", "2025-04-02T09:30:00Z"),
        ("ts-01", "2025-04-02T09:30:00.500Z"),
        ("ts-02", "2025-04-02T07:30:00Z"),
        ("ts-04", "2025-04-02T09:30:00Z"),
        ("ts-05", "2025-04-02T09:30:00.123Z"),
        ("ts-06", "0001-01-01T00:00:00Z"),
    ],
)
def test_parsed_as_utc(run, message_id: str, expected: str) -> None:
    assert run.by_id("page")[message_id]["timestamp"] == expected


def test_microseconds_kept(run) -> None:
    value = run.by_id("page")["ts-03"]["timestamp"]

    assert value.startswith("2025-04-02T16:30:00.123456")
    assert value.endswith("Z")


@pytest.mark.parametrize("message_id", ["ts-07", "ts-08", "ts-09"])
def test_unparseable_typed_column_null(run, message_id: str) -> None:
    assert run.by_id("page")[message_id].get("timestamp") is None


@pytest.mark.parametrize(
    ("message_id", "original"),
    [("ts-07", "2025-02-30T00:00:00Z"), ("ts-08", ""), ("ts-09", "not a time")],
)
def test_unparseable_text_kept(run, message_id: str, original: str) -> None:
    assert run.by_id("page")[message_id]["timestamp__string"] == original


def test_text_column_is_string(run) -> None:
    assert run.columns("page")["timestamp__string"]["type"] == ["string", "null"]


@pytest.mark.parametrize("message_id", ["ts-10", "ts-99"])
def test_null_or_absent_is_null(run, message_id: str) -> None:
    record = run.by_id("page")[message_id]

    assert record.get("timestamp") is None
    assert record.get("timestamp__string") is None


def test_load_all_rows(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path)
    types = postgres.column_types(pg_schema, "page")

    assert postgres.row_count(pg_schema, "page") == 12
    assert types["timestamp"] == "timestamp without time zone"
    assert types["timestamp__string"] == "text"


def test_load_year_one(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path)
    rows = postgres.query(
        f'SELECT timestamp__string, timestamp IS NULL FROM "{pg_schema}"."page" WHERE message_id = %s',
        ("ts-06",),
    )

    assert rows == [(None, False)]


# Other members of the family, in every envelope timestamp field. `None` as the expected value
# means the value is not a timestamp and must be kept in a split column instead.
FAMILY: list[tuple[str, Any, str | None]] = [
    ("hours-offset", "2025-04-02T09:30:00+02", "2025-04-02T07:30:00Z"),
    ("lower-case", "2025-04-02t09:30:00z", "2025-04-02T09:30:00Z"),
    ("minus-zero", "2025-04-02T09:30:00-0000", "2025-04-02T09:30:00Z"),
    ("half-hour-offset", "2025-04-02 09:30:00.1+05:30", "2025-04-02T04:00:00.100Z"),
    ("nine-digits-utc", "2025-04-02T09:30:00.000000001Z", "2025-04-02T09:30:00Z"),
    ("leap-day", "2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z"),
    ("epoch-float", 1743586200.5, "2025-04-02T09:30:00.500Z"),
    ("epoch-ms-float", 1743586200123.0, "2025-04-02T09:30:00.123Z"),
    ("new-year-offset", "2025-01-01T00:30:00+01:00", "2024-12-31T23:30:00Z"),
    ("not-leap-day", "2025-02-29T12:00:00Z", None),
    ("hour-25", "2025-04-02T25:30:00Z", None),
    ("month-13", "2025-13-02T09:30:00Z", None),
    ("words", "yesterday", None),
]
FIELDS = {
    "timestamp": "timestamp",
    "sentAt": "sent_at",
    "receivedAt": "received_at",
    "originalTimestamp": "original_timestamp",
}


def _family_file(folder: Path) -> Path:
    messages = []
    for name, raw, _ in FAMILY:
        for field in FIELDS:
            messages.append({"type": "screen", "messageId": f"{name}/{field}", "name": "S", field: raw})
    return write_lines(folder / "family.ndjson", messages)


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    folder = tmp_path_factory.mktemp("family")
    return replay([_family_file(folder)], folder / "out")


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize(("name", "raw", "expected"), FAMILY, ids=[case[0] for case in FAMILY])
def test_family_value(family, name: str, raw: Any, expected: str | None, field: str) -> None:
    record = family.by_id("screen")[f"{name}/{field}"]
    column = FIELDS[field]

    assert record.get(column) == expected
    if expected is None:
        assert record[f"{column}__string"] == raw


def test_family_parsed_values_rfc3339(family) -> None:
    for record in family.records("screen"):
        for column in FIELDS.values():
            assert is_rfc3339(record.get(column)), record


def test_family_records_match_schema(family) -> None:
    assert schema_violations(family.result.messages) == []


def test_family_no_rejects(family) -> None:
    assert family.rejects == []


def test_family_loads(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [_family_file(tmp_path)], tmp_path / "out")

    assert postgres.row_count(pg_schema, "screen") == len(FAMILY) * len(FIELDS)


def test_family_loaded_value_utc(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [_family_file(tmp_path)], tmp_path / "out")
    rows = postgres.query(
        f'SELECT sent_at FROM "{pg_schema}"."screen" WHERE message_id = %s', ("new-year-offset/sentAt",)
    )
    session_zone = postgres.query("SHOW TimeZone")[0][0]

    # target-postgres converts an aware value to the session time zone before storing it.
    if session_zone in {"UTC", "Etc/UTC"}:
        assert rows == [(dt.datetime(2024, 12, 31, 23, 30),)]
    else:
        assert rows[0][0] is not None
