"""NUL characters in ids, values and keys, which PostgreSQL rejects in text and jsonb."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from case_kit import GENERATED_ID, case_file, load_into, replay, walk_strings, write_lines

CASE = "05-nul-characters"
INPUT = case_file(CASE, "input.ndjson")
STYLES = ["flat", "nested"]


@pytest.fixture(scope="module", params=STYLES)
def run(request, tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp(request.param), column_style=request.param)


def _nul_strings(messages) -> list[str]:
    return [text for message in messages for text in walk_strings(message) if "\x00" in text]


def test_both_records_emitted(run) -> None:
    assert len(run.records("track")) == 2


def test_no_nul_in_messages(run) -> None:
    assert _nul_strings(run.result.messages) == []


def test_no_nul_escape_in_stdout(run) -> None:
    assert "\\u0000" not in run.result.stdout


def test_first_id_cleaned(run) -> None:
    assert run.ids("track")[0] == "nul-1"


def test_nul_only_id_generated(run) -> None:
    assert GENERATED_ID.match(run.ids("track")[1])


def test_nested_key_cleaned(run) -> None:
    record = run.records("track")[0]
    if "properties" in record:
        assert record["properties"]["deep"] == {"key": {"v": "xy"}}
    else:
        assert record["properties__deep__key__v"] == "xy"


def test_body_value_cleaned(run) -> None:
    record = run.records("track")[0]
    body = record["properties"]["body"] if "properties" in record else record["properties__body"]

    assert body == "line oneline two"


def test_repairs_counted(run) -> None:
    # Seven NUL characters: the id, userId, event, body, the key, the nested value, the second id.
    assert run.stream_report("track")["values_repaired"] == 7


def test_generated_id_stable(tmp_path: Path) -> None:
    first = replay([INPUT], tmp_path / "first")
    second = replay([INPUT], tmp_path / "second")

    assert second.ids("track") == first.ids("track")


@pytest.mark.parametrize("style", STYLES)
def test_load_both_records(style: str, tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path, column_style=style)

    assert postgres.row_count(pg_schema, "track") == 2


# Other members of the family: NUL at every depth, in arrays, keys, envelope fields, the type,
# and next to other invalid text (lone surrogates, bytes that are not UTF-8).
FAMILY_LINES = {
    "arrays": r'{"type": "track", "messageId": "f-1", "properties": {"list": ["a\u0000b", {"k\u0000": "v\u0000"}, [["\u0000"]]]}}',
    "top-level-keys": r'{"type": "track", "messageId": "f-2", "user\u0000Id": "u", "event\u0000": "e", "properties": {"\u0000": "nul key"}}',
    "context": r'{"type": "page", "messageId": "f-3", "context": {"page": {"url\u0000": "https://example.invalid/\u0000"}}, "name": "\u0000"}',
    "type": r'{"type": "tr\u0000ack", "messageId": "f-4", "event": "E"}',
    "surrogate": r'{"type": "track", "messageId": "f-5\ud800", "properties": {"s\udc00": "\ud800 lone \u0000"}}',
    "id-padded-nul": r'{"type": "identify", "messageId": " \u0000 ", "traits": {"t": "\u0000\u0000"}}',
}
FAMILY_BYTES = {
    "not-utf8": b'{"type": "track", "messageId": "f-7", "properties": {"bad": "caf\xe9 \xff\\u0000"}}\n',
}


def _family_file(folder: Path, name: str) -> Path:
    path = folder / f"{name}.ndjson"
    folder.mkdir(parents=True, exist_ok=True)
    if name in FAMILY_BYTES:
        path.write_bytes(FAMILY_BYTES[name])
    else:
        path.write_text(FAMILY_LINES[name] + "\n", encoding="utf-8")
    return path


FAMILY = sorted([*FAMILY_LINES, *FAMILY_BYTES])


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", FAMILY)
def test_family_no_nul(name: str, style: str, tmp_path: Path) -> None:
    run = replay([_family_file(tmp_path, name)], tmp_path / "out", column_style=style)

    assert len(run.records()) == 1
    assert _nul_strings(run.result.messages) == []
    assert "\\u0000" not in run.result.stdout


@pytest.mark.parametrize("name", FAMILY)
def test_family_repairs_counted(name: str, tmp_path: Path) -> None:
    run = replay([_family_file(tmp_path, name)], tmp_path / "out")
    repaired = sum(stream["values_repaired"] for stream in run.report["streams"].values())

    assert repaired > 0


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", FAMILY)
def test_family_loads(name: str, style: str, tmp_path: Path, postgres, pg_schema: str) -> None:
    source = _family_file(tmp_path, name)
    run = replay([source], tmp_path / "out")
    (stream,) = run.streams_with_records()
    load_into(postgres, pg_schema, [source], tmp_path / "load", column_style=style)

    assert postgres.row_count(pg_schema, stream) == 1


def test_raw_nul_byte_rejected(tmp_path: Path) -> None:
    # JSON forbids unescaped control characters in strings, so this line is invalid JSON.
    source = tmp_path / "raw-nul.ndjson"
    source.write_bytes(
        b'{"type": "track", "messageId": "raw-1", "event": "a\x00b"}\n'
        b'{"type": "track", "messageId": "raw-2", "event": "ok"}\n'
    )
    run = replay([source], tmp_path / "out")

    assert [reject["reason"] for reject in run.rejects] == ["invalid_json"]
    assert run.ids("track") == ["raw-2"]


@pytest.mark.parametrize("style", STYLES)
def test_keys_equal_after_repair_kept(style: str, tmp_path: Path) -> None:
    # Neither key is equal to the repaired key "ab" before the repair.
    source = write_lines(
        tmp_path / "keys.ndjson",
        [r'{"type": "track", "messageId": "k-1", "properties": {"a\u0000b": "one", "ab\u0000": "two"}}'],
    )
    run = replay([source], tmp_path / "out", column_style=style)
    (record,) = run.records("track")
    values = list(walk_strings(json.loads(json.dumps(record))))

    assert "one" in values
    assert "two" in values
