"""Keys that collide after snake_casing, and payload keys that look like envelope columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from case_kit import bad_column_names, case_file, load_into, replay, write_lines

CASE = "03-name-collisions"
INPUT = case_file(CASE, "input.json")
THEMES = {"dark", "light", "system"}


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("first"))


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("second"))


def _record(run) -> dict[str, Any]:
    (record,) = run.records("track")
    return record


def _theme_columns(run) -> dict[str, str]:
    return {name: value for name, value in _record(run).items() if value in THEMES}


def test_user_id_from_envelope(first) -> None:
    assert _record(first)["user_id"] == "u-real"


def test_message_id_from_envelope(first) -> None:
    assert _record(first)["message_id"] == "nc-1"


def test_received_at_not_overwritten(first) -> None:
    assert _record(first).get("received_at") is None


def test_spoofed_values_kept_apart(first) -> None:
    record = _record(first)

    assert record["properties__user_id"] == "u-spoofed"
    assert record["properties__message_id"] == "nc-spoofed"


def test_theme_keys_three_columns(first) -> None:
    columns = _theme_columns(first)

    assert sorted(columns.values()) == sorted(THEMES)
    assert len(columns) == 3


def test_theme_columns_share_prefix(first) -> None:
    for name in _theme_columns(first):
        assert name.startswith("properties__theme_name"), name


def test_theme_columns_stable(first, second) -> None:
    assert _theme_columns(second) == _theme_columns(first)


@pytest.mark.parametrize("raw_key", ["themeName", "theme_name", "ThemeName"])
def test_warning_names_raw_key(first, raw_key: str) -> None:
    warnings = [line for line in first.stderr.splitlines() if "WARNING" in line]

    assert any(raw_key in line for line in warnings), warnings


@pytest.mark.parametrize(
    ("value", "column_part"),
    [("x", "constructor"), (True, "proto"), ("2020-01-01T00:00:00Z", "sdc_deleted_at")],
)
def test_prototype_like_keys_ordinary(first, value: Any, column_part: str) -> None:
    matches = [name for name, v in _record(first).items() if v == value and column_part in name]

    assert len(matches) == 1, _record(first)


def test_no_payload_column_starts_sdc(first) -> None:
    assert [name for name in first.columns("track") if name.startswith("_sdc")] == []


def test_column_names_valid(first) -> None:
    assert bad_column_names(first.result.messages) == []


def test_load_record(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path)
    rows = postgres.query(
        f'SELECT message_id, user_id, properties__user_id FROM "{pg_schema}"."track"'
    )

    assert rows == [("nc-1", "u-real", "u-spoofed")]


# Other members of the family. Every payload leaf is a unique string, so each must show up
# in exactly one column of the record.
FAMILY = {
    "dunder-vs-nested": {"properties": {"a__b": "leaf-1", "a": {"b": "leaf-2"}, "a_b": "leaf-3"}},
    "split-name-vs-path": {
        "properties": {
            "amount": {"string": "leaf-1", "number": "leaf-2"},
            "Amount": {"String": "leaf-3"},
            "amount__string": "leaf-4",
        }
    },
    "top-level-lookalike": {
        "properties__plan": "leaf-1",
        "properties": {"plan": "leaf-2"},
        "user_id": "leaf-3",
        "context__ip": "leaf-4",
        "context": {"ip": "leaf-5"},
    },
    "case-and-separators": {
        "traits": {
            "Order ID": "leaf-1",
            "order-id": "leaf-2",
            "orderID": "leaf-3",
            "order.id": "leaf-4",
            "ORDER_ID": "leaf-5",
            "order id": "leaf-6",
        }
    },
    "suffix-lookalike": {"properties": {"x": "leaf-1", "X": "leaf-2", "x_00000000": "leaf-3", "x__": "leaf-4"}},
}


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    return [value]


def _family_file(folder: Path, name: str) -> Path:
    message = {"type": "identify" if "traits" in FAMILY[name] else "track", "messageId": name, "userId": "u-real"}
    message.update(FAMILY[name])
    return write_lines(folder / f"{name}.ndjson", [message])


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_every_leaf_once(name: str, tmp_path: Path) -> None:
    run = replay([_family_file(tmp_path, name)], tmp_path / "out")
    (record,) = run.records()
    values = list(record.values())

    for leaf in _leaves(FAMILY[name]):
        assert values.count(leaf) == 1, (leaf, record)


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_envelope_kept(name: str, tmp_path: Path) -> None:
    run = replay([_family_file(tmp_path, name)], tmp_path / "out")
    (record,) = run.records()

    assert record["user_id"] == "u-real"
    assert record["message_id"] == name


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_names_stable(name: str, tmp_path: Path) -> None:
    source = _family_file(tmp_path, name)
    first_run = replay([source], tmp_path / "first")
    second_run = replay([source], tmp_path / "second")

    assert second_run.records() == first_run.records()


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_warns_on_collision(name: str, tmp_path: Path) -> None:
    run = replay([_family_file(tmp_path, name)], tmp_path / "out")

    assert "WARNING" in run.stderr


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_loads(name: str, tmp_path: Path, postgres, pg_schema: str) -> None:
    source = _family_file(tmp_path, name)
    load_into(postgres, pg_schema, [source], tmp_path / "out")
    table = "identify" if "traits" in FAMILY[name] else "track"

    assert postgres.row_count(pg_schema, table) == 1
