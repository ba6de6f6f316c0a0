"""A property that changes type between events: no value lost, no column retyped."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from case_kit import case_file, load_into, replay, retyped_columns, schema_violations, write_lines

CASE = "02-type-drift"
INPUT = case_file(CASE, "input.ndjson")


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("flat"))


@pytest.fixture(scope="module")
def nested(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("nested"), column_style="nested")


def _column_values(run, prefix: str) -> dict[str, dict[str, Any]]:
    """Map message id to the columns named `prefix` or `prefix__<type>` and their values."""
    values = {}
    for record in run.records("track"):
        values[record["message_id"]] = {
            name: value
            for name, value in record.items()
            if name == prefix or name.startswith(prefix + "__")
        }
    return values


def _declared_type(run, column: str) -> str:
    types = [t for t in run.columns("track")[column]["type"] if t != "null"]
    assert len(types) == 1, types
    return types[0]


def test_flat_all_records_emitted(flat) -> None:
    assert flat.ids("track") == ["td-1", "td-2", "td-3", "td-4"]


def test_flat_records_match_schema(flat) -> None:
    assert schema_violations(flat.result.messages) == []


def test_flat_records_match_last_schema(flat) -> None:
    messages = flat.result.messages
    last_schema = flat.result.schemas("track")[-1]
    records = [m for m in messages if m["type"] == "RECORD"]

    assert schema_violations([last_schema, *records]) == []


def test_flat_column_types_never_change(flat) -> None:
    assert retyped_columns(flat.result.messages) == []


@pytest.mark.parametrize(
    ("message_id", "expected", "column_type"),
    [
        ("td-1", 120, "number"),
        ("td-2", "120.50", "string"),
        ("td-3", "unknown", "string"),
        ("td-4", 99.99, "number"),
    ],
)
def test_flat_amount_kept(flat, message_id: str, expected: Any, column_type: str) -> None:
    (column, value), = _column_values(flat, "properties__amount")[message_id].items()

    assert value == expected
    assert _declared_type(flat, column) == column_type


def test_flat_amount_string_column_is_split(flat) -> None:
    # The first amount is a number, so the strings go to a split column.
    assert _declared_type(flat, "properties__amount") == "number"
    assert _declared_type(flat, "properties__amount__string") == "string"


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [("td-1", 3), ("td-2", 3.5), ("td-3", True), ("td-4", "gold")],
)
def test_flat_tier_kept(flat, message_id: str, expected: Any) -> None:
    (value,) = _column_values(flat, "properties__tier")[message_id].values()

    assert value == expected
    assert type(value) is type(expected)


def test_flat_tier_not_rounded(flat) -> None:
    (value,) = _column_values(flat, "properties__tier")["td-2"].values()

    assert Decimal(str(value)) == Decimal("3.5")


def test_flat_null_note_no_column(flat) -> None:
    first_schema_with_record = None
    for message in flat.result.messages:
        if message["type"] == "SCHEMA" and message["stream"] == "track":
            first_schema_with_record = message
        if message["type"] == "RECORD":
            break
    columns = first_schema_with_record["schema"]["properties"]

    assert [name for name in columns if "note" in name] == []


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [("td-2", {}), ("td-3", "paid late"), ("td-4", ["a", "b"])],
)
def test_flat_note_kept(flat, message_id: str, expected: Any) -> None:
    (value,) = _column_values(flat, "properties__note")[message_id].values()
    if not isinstance(expected, str):
        value = json.loads(value)

    assert value == expected


def test_flat_td1_has_no_note(flat) -> None:
    assert _column_values(flat, "properties__note")["td-1"] == {}


def test_nested_properties_object_column(nested) -> None:
    assert "object" in nested.columns("track")["properties"]["type"]


def test_nested_properties_as_sent(nested) -> None:
    sent = [json.loads(line)["properties"] for line in INPUT.read_text().splitlines()]

    assert [record["properties"] for record in nested.records("track")] == sent


def test_nested_no_flat_property_columns(nested) -> None:
    assert [name for name in nested.columns("track") if name.startswith("properties__")] == []


def test_load_twice_same_tables(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path / "first")
    load_into(postgres, pg_schema, [INPUT], tmp_path / "second")
    types = postgres.column_types(pg_schema, "track")

    assert postgres.row_count(pg_schema, "track") == 4
    assert types["properties__amount"] == "numeric"
    assert types["properties__amount__string"] == "text"
    assert types["properties__tier"] == "numeric"
    assert types["properties__tier__boolean"] == "boolean"


def test_load_tier_exact(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path)
    rows = postgres.query(f'SELECT properties__tier FROM "{pg_schema}"."track" WHERE message_id = %s', ("td-2",))

    assert rows == [(Decimal("3.5"),)]


def test_load_nested_properties_jsonb(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path, column_style="nested")
    rows = postgres.query(
        f'SELECT message_id, properties FROM "{pg_schema}"."track" ORDER BY message_id'
    )
    sent = [json.loads(line)["properties"] for line in INPUT.read_text().splitlines()]

    assert postgres.column_types(pg_schema, "track")["properties"] == "jsonb"
    assert [properties for _, properties in rows] == sent


# Other members of the family. Each key takes values of several JSON types in turn.
FAMILY = {
    "string-first": [{"v": "abc"}, {"v": 42}, {"v": True}, {"v": {"x": 1}}, {"v": [1]}],
    "boolean-first": [{"v": False}, {"v": 0}, {"v": "no"}, {"v": None}],
    "big-numbers": [
        {"v": 1},
        {"v": 12345678901234567890123456789},
        {"v": -9223372036854775809},
        {"v": 0.1},
        {"v": 1.5e300},
    ],
    "object-first": [{"v": {"a": 1}}, {"v": 5}, {"v": {"a": "x"}}, {"v": "plain"}],
}


def _family_file(folder: Path, name: str) -> Path:
    messages = [
        {"type": "track", "messageId": f"{name}-{index}", "event": "Drift", "properties": properties}
        for index, properties in enumerate(FAMILY[name])
    ]
    return write_lines(folder / f"{name}.ndjson", messages)


def _leaf_texts(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        leaves = {}
        for key, item in value.items():
            leaves.update(_leaf_texts(item, f"{prefix}__{key}"))
        return leaves
    return {prefix: value}


def _found(record: dict[str, Any], column_prefix: str, value: Any) -> bool:
    """Tell whether `value` is in a column named after its path, as itself or as JSON text."""
    candidates = [v for name, v in record.items() if name.startswith(column_prefix)]
    for candidate in candidates:
        if candidate == value and type(candidate) is type(value):
            return True
        if isinstance(candidate, str) and not isinstance(value, str):
            if json.loads(candidate) == value:
                return True
    return False


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_no_value_lost(name: str, tmp_path: Path) -> None:
    run = replay([_family_file(tmp_path, name)], tmp_path / "out")
    records = run.by_id("track")

    for index, properties in enumerate(FAMILY[name]):
        record = records[f"{name}-{index}"]
        for path, value in _leaf_texts(properties, "properties").items():
            if value is None:
                continue
            assert _found(record, path, value), (path, value, record)


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_records_match_schema(name: str, tmp_path: Path) -> None:
    run = replay([_family_file(tmp_path, name)], tmp_path / "out")

    assert schema_violations(run.result.messages) == []
    assert retyped_columns(run.result.messages) == []


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_loads_twice(name: str, tmp_path: Path, postgres, pg_schema: str) -> None:
    source = _family_file(tmp_path, name)
    load_into(postgres, pg_schema, [source], tmp_path / "first")
    load_into(postgres, pg_schema, [source], tmp_path / "second")

    assert postgres.row_count(pg_schema, "track") == len(FAMILY[name])


def test_later_run_keeps_types(tmp_path: Path, postgres, pg_schema: str) -> None:
    # The second file starts with a string where the first run created a number column, so
    # only the columns kept in STATE stop the second run from declaring a string column.
    first = write_lines(
        tmp_path / "first.ndjson",
        [{"type": "track", "messageId": "r-1", "properties": {"amount": 10}}],
    )
    second = write_lines(
        tmp_path / "second.ndjson",
        [{"type": "track", "messageId": "r-2", "properties": {"amount": "ten"}}],
    )
    state = load_into(postgres, pg_schema, [first], tmp_path / "a")
    load_into(postgres, pg_schema, [second], tmp_path / "b", state=state)
    rows = postgres.query(
        f'SELECT message_id, properties__amount, properties__amount__string FROM "{pg_schema}"."track"'
        " ORDER BY message_id"
    )

    assert rows == [("r-1", Decimal(10), None), ("r-2", None, "ten")]
