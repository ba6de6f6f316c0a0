"""Empty objects, null-only keys, and keys first seen in a later event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from case_kit import case_file, discover_catalog, load_into, replay, schema_violations, write_lines

CASE = "10-empty-and-late-keys"
INPUT = case_file(CASE, "input.ndjson")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("late"))


def _first_line(folder: Path) -> Path:
    path = folder / "first-line.ndjson"
    path.write_text(INPUT.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    return path


def _undeclared_before_use(messages) -> list[str]:
    """Return the record keys that no earlier SCHEMA of the stream declared."""
    declared: dict[str, set[str]] = {}
    missing = []
    for message in messages:
        if message["type"] == "SCHEMA":
            declared[message["stream"]] = set(message["schema"]["properties"])
        elif message["type"] == "RECORD":
            for key in message["record"]:
                if key not in declared.get(message["stream"], set()):
                    missing.append(f"{message['record'].get('message_id')}: {key}")
    return missing


def _untyped_columns(messages) -> list[str]:
    untyped = []
    for message in messages:
        if message["type"] != "SCHEMA":
            continue
        for name, definition in message["schema"]["properties"].items():
            types = definition.get("type")
            types = [types] if isinstance(types, str) else types or []
            if not [t for t in types if t != "null"]:
                untyped.append(f"{message['stream']}.{name}: {definition}")
    return untyped


def test_both_records(run) -> None:
    assert run.ids("track") == ["el-1", "el-2"]


def test_schema_before_each_record(run) -> None:
    assert _undeclared_before_use(run.result.messages) == []


def test_records_match_schema(run) -> None:
    assert schema_violations(run.result.messages) == []


def test_no_untyped_column(run) -> None:
    assert _untyped_columns(run.result.messages) == []


@pytest.mark.parametrize(("column", "value"), [("properties__first_seen_here", True), ("properties__cart__items", 2)])
def test_late_key_reaches_record(run, column: str, value) -> None:
    assert run.by_id("track")["el-2"][column] == value


def test_empty_array_kept(run) -> None:
    assert run.by_id("track")["el-1"]["properties__tags"] == "[]"


def test_later_array_kept(run) -> None:
    assert json.loads(run.by_id("track")["el-2"]["properties__tags"]) == ["x"]


def test_null_coupon_no_value(run) -> None:
    assert run.by_id("track")["el-1"].get("properties__coupon") is None


def test_load_both_rows(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path)
    rows = postgres.query(
        f'SELECT message_id, properties__first_seen_here, properties__cart__items, properties__tags'
        f' FROM "{pg_schema}"."track" ORDER BY message_id'
    )

    assert rows == [("el-1", None, None, "[]"), ("el-2", True, 2, '["x"]')]


def test_load_with_first_line_catalog(tmp_path: Path, postgres, pg_schema: str) -> None:
    catalog = discover_catalog([_first_line(tmp_path)])
    load_into(postgres, pg_schema, [INPUT], tmp_path / "out", catalog=catalog)
    rows = postgres.query(
        f'SELECT message_id, properties__first_seen_here, properties__cart__items'
        f' FROM "{pg_schema}"."track" ORDER BY message_id'
    )

    assert rows == [("el-1", None, None), ("el-2", True, 2)]


def test_first_line_catalog_output(tmp_path: Path) -> None:
    catalog = discover_catalog([_first_line(tmp_path)])
    run = replay([INPUT], tmp_path / "out", catalog=catalog)

    assert _undeclared_before_use(run.result.messages) == []
    assert run.by_id("track")["el-2"]["properties__first_seen_here"] is True


# Other members of the family: a key null in every event but the last, a key that is an empty
# object first and deep later, an empty array inside an object, and an empty-string key.
FAMILY = [
    {"type": "identify", "messageId": "fl-1", "traits": {"late": None, "shape": {}, "box": {"list": []}}},
    {"type": "identify", "messageId": "fl-2", "traits": {"late": None, "shape": {"a": {}}}},
    {"type": "identify", "messageId": "fl-3", "traits": {"late": "finally", "shape": {"a": {"b": [{}]}}}},
    {"type": "identify", "messageId": "fl-4", "traits": {"": {}, "box": {"list": [[]], "new": 0}}},
]


def _family_file(folder: Path) -> Path:
    return write_lines(folder / "late.ndjson", FAMILY)


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    folder = tmp_path_factory.mktemp("family")
    return replay([_family_file(folder)], folder / "out")


def test_family_schema_before_record(family) -> None:
    assert _undeclared_before_use(family.result.messages) == []


def test_family_no_untyped_column(family) -> None:
    assert _untyped_columns(family.result.messages) == []


def test_family_records_match_schema(family) -> None:
    assert schema_violations(family.result.messages) == []


def test_family_late_value(family) -> None:
    assert family.by_id("identify")["fl-3"]["traits__late"] == "finally"


def test_family_empty_array_in_object(family) -> None:
    assert family.by_id("identify")["fl-1"]["traits__box__list"] == "[]"


def test_family_nested_empty_array(family) -> None:
    assert json.loads(family.by_id("identify")["fl-4"]["traits__box__list"]) == [[]]


def test_family_deep_late_value(family) -> None:
    record = family.by_id("identify")["fl-3"]
    values = [json.loads(v) for k, v in record.items() if k.startswith("traits__shape") and isinstance(v, str)]

    assert [{}] in values


def test_family_loads_with_first_line_catalog(tmp_path: Path, postgres, pg_schema: str) -> None:
    source = _family_file(tmp_path)
    first = write_lines(tmp_path / "first.ndjson", FAMILY[:1])
    load_into(postgres, pg_schema, [source], tmp_path / "out", catalog=discover_catalog([first]))

    assert postgres.row_count(pg_schema, "identify") == len(FAMILY)
    assert postgres.column_values(pg_schema, "identify", "traits__late").count("finally") == 1
