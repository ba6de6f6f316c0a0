"""Keys with spaces, dots, dashes, capitals, emoji, other scripts, and empty keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from case_kit import MAX_COLUMN_BYTES, bad_column_names, case_file, load_into, replay, write_lines

CASE = "04-odd-keys"
INPUT = case_file(CASE, "input.json")
TRAITS = json.loads(INPUT.read_text(encoding="utf-8"))["traits"]


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("first"))


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("second"))


def _trait_columns(run) -> dict[str, Any]:
    (record,) = run.records("identify")
    return {name: value for name, value in record.items() if name.startswith("traits__")}


def _column_of(run, value: Any) -> str:
    (name,) = [name for name, v in _trait_columns(run).items() if v == value]
    return name


def test_every_trait_has_column(first) -> None:
    assert len(_trait_columns(first)) == len(TRAITS)


@pytest.mark.parametrize("key", sorted(TRAITS))
def test_trait_value_kept(first, key: str) -> None:
    assert _column_of(first, TRAITS[key])


def test_column_names_valid(first) -> None:
    assert bad_column_names(first.result.messages) == []


def test_email_keys_distinct(first) -> None:
    assert _column_of(first, "first@example.invalid") != _column_of(first, "second@example.invalid")


def test_long_names_distinct(first) -> None:
    one = _column_of(first, 1)
    two = _column_of(first, 2)

    assert one != two
    assert len(one.encode()) <= MAX_COLUMN_BYTES
    assert len(two.encode()) <= MAX_COLUMN_BYTES


def test_dash_level_keeps_level(first) -> None:
    assert "level" in _column_of(first, 4)


@pytest.mark.parametrize("value", ["テスト", "blank key"])
def test_unusable_key_named(first, value: str) -> None:
    name = _column_of(first, value)

    assert name != "traits__"
    assert len(name) > len("traits__")


def test_names_stable_across_processes(first, second) -> None:
    assert list(second.columns("identify")) == list(first.columns("identify"))


def test_records_stable_across_processes(first, second) -> None:
    assert second.records() == first.records()


def test_load_record(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path)
    columns = postgres.column_names(pg_schema, "identify")

    assert postgres.row_count(pg_schema, "identify") == 1
    assert len([name for name in columns if name.startswith("traits__")]) == len(TRAITS)


# Other members of the family: each key maps to a unique value.
FAMILY = {
    "punctuation": {"!!!": "v-1", "---": "v-2", "...": "v-3", "@#$%": "v-4", "_": "v-5", "__": "v-6"},
    "digits-first": {"1st place": "v-1", "2": "v-2", "007agent": "v-3", "3.14": "v-4"},
    "multibyte-long": {
        "ü" * 40: "v-1",
        "ü" * 41: "v-2",
        "Größe der Bestellung in Kilogramm und noch mehr Wörter dahinter": "v-3",
        "Größe der Bestellung in Kilogramm und noch mehr Wörter dahinter!": "v-4",
    },
    "scripts": {"имя": "v-1", "名前": "v-2", "اسم": "v-3", "e\u0301": "v-4", "é": "v-5", "\u200b": "v-6"},
    "case-long": {"A" * 70: "v-1", "a" * 70: "v-2", "aA" * 35: "v-3"},
    "whitespace": {" ": "v-1", "\t": "v-2", " lead": "v-3", "lead": "v-4", "trail ": "v-5"},
}


def _family_file(folder: Path, name: str) -> Path:
    message = {"type": "identify", "messageId": name, "userId": "u-1", "traits": FAMILY[name]}
    return write_lines(folder / f"{name}.ndjson", [message])


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_every_key_has_column(name: str, tmp_path: Path) -> None:
    run = replay([_family_file(tmp_path, name)], tmp_path / "out")
    values = list(_trait_columns(run).values())

    for key, value in FAMILY[name].items():
        assert values.count(value) == 1, (key, value, values)


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_column_names_valid(name: str, tmp_path: Path) -> None:
    run = replay([_family_file(tmp_path, name)], tmp_path / "out")

    assert bad_column_names(run.result.messages) == []


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_names_stable(name: str, tmp_path: Path) -> None:
    source = _family_file(tmp_path, name)
    first_run = replay([source], tmp_path / "first")
    second_run = replay([source], tmp_path / "second")

    assert second_run.records() == first_run.records()


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_loads(name: str, tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [_family_file(tmp_path, name)], tmp_path / "out")
    columns = postgres.column_names(pg_schema, "identify")

    assert postgres.row_count(pg_schema, "identify") == 1
    assert len([c for c in columns if c.startswith("traits__")]) == len(FAMILY[name])
