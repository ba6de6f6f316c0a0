"""Routing by type: five default streams, alias only when selected, everything else rejected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from case_kit import GENERATED_ID, case_file, discover_catalog, load_into, replay, write_gzip, write_lines

CASE = "07-routing"
INPUT = case_file(CASE, "input.ndjson")
REJECTED = {3: "missing_type", 5: "unknown_type", 8: "not_an_object", 9: "invalid_json"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return replay([INPUT], tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="module")
def with_alias(tmp_path_factory):
    catalog = discover_catalog([INPUT], select=("alias",))
    return replay([INPUT], tmp_path_factory.mktemp("alias"), catalog=catalog)


def _raw_lines() -> list[str]:
    return INPUT.read_text(encoding="utf-8").splitlines()


def test_exit_code_zero(run) -> None:
    assert run.result.returncode == 0


def test_line1_track_generated_id(run) -> None:
    first = run.records("track")[0]

    assert first["event"] == "Clicked Banner"
    assert GENERATED_ID.match(first["message_id"])


def test_line1_id_stable(run, tmp_path: Path) -> None:
    again = replay([INPUT], tmp_path)

    assert again.records("track")[0]["message_id"] == run.records("track")[0]["message_id"]


def test_line2_identify(run) -> None:
    assert run.ids("identify") == ["rt-2"]


def test_line6_track_trimmed_id(run) -> None:
    assert run.ids("track")[1] == "rt-6"


def test_line7_screen_without_user(run) -> None:
    assert run.ids("screen") == ["rt-7"]


def test_type_lower_cased(run) -> None:
    assert {record["type"] for record in run.records()} == {"track", "identify", "screen"}


def test_alias_not_emitted_by_default(run) -> None:
    assert "alias" not in {m["stream"] for m in run.result.messages if "stream" in m}


def test_alias_emitted_when_selected(with_alias) -> None:
    assert with_alias.ids("alias") == ["rt-4"]


def test_alias_previous_id_column(with_alias) -> None:
    assert with_alias.records("alias")[0]["previous_id"] == "a-1"


def test_selected_alias_keeps_other_streams(with_alias) -> None:
    assert with_alias.streams_with_records() == {"alias", "track", "identify", "screen"}


def test_rejects_lines(run) -> None:
    assert sorted(reject["source"]["line"] for reject in run.rejects) == sorted(REJECTED)


@pytest.mark.parametrize(("line", "reason"), sorted(REJECTED.items()))
def test_reject_reason(run, line: int, reason: str) -> None:
    (reject,) = [r for r in run.rejects if r["source"]["line"] == line]

    assert reject["reason"] == reason


@pytest.mark.parametrize("line", sorted(REJECTED))
def test_reject_source_file(run, line: int) -> None:
    (reject,) = [r for r in run.rejects if r["source"]["line"] == line]

    assert Path(reject["source"]["file"]).resolve() == INPUT.resolve()


@pytest.mark.parametrize("line", sorted(REJECTED))
def test_reject_raw_text(run, line: int) -> None:
    (reject,) = [r for r in run.rejects if r["source"]["line"] == line]
    raw = _raw_lines()[line - 1]

    if line == 9:
        assert reject["raw"] == raw
    else:
        assert json.loads(reject["raw"]) == json.loads(raw)


def test_report_rejects_by_reason(run) -> None:
    assert run.report["rejects"] == {reason: 1 for reason in REJECTED.values()}


def test_load_routed_rows(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [INPUT], tmp_path)

    assert postgres.row_count(pg_schema, "track") == 2
    assert postgres.row_count(pg_schema, "identify") == 1
    assert postgres.row_count(pg_schema, "screen") == 1
    assert "alias" not in postgres.tables(pg_schema)


def test_load_alias_when_selected(tmp_path: Path, postgres, pg_schema: str) -> None:
    catalog = discover_catalog([INPUT], select=("alias",))
    load_into(postgres, pg_schema, [INPUT], tmp_path, catalog=catalog)

    assert postgres.column_values(pg_schema, "alias", "message_id") == ["rt-4"]


# Other members of the family: more type spellings, more values that are not messages.
FAMILY_ROUTED = [
    ({"type": "PAGE ", "messageId": "f-1", "name": "P"}, "page"),
    ({"type": "\tGroup\n", "messageId": "f-2", "groupId": "g"}, "group"),
    ({"type": "Identify", "messageId": "f-3", "traits": {}}, "identify"),
    ({"type": "screen", "messageId": "f-4"}, "screen"),
]
FAMILY_REJECTED = [
    ({"type": 123, "messageId": "r-1"}, {"invalid_type"}),
    ({"type": None, "messageId": "r-2"}, {"missing_type", "invalid_type"}),
    ({"type": "", "messageId": "r-3"}, {"unknown_type", "missing_type", "invalid_type"}),
    ({"type": ["track"], "messageId": "r-4"}, {"invalid_type"}),
    ({"type": "tracks", "messageId": "r-5"}, {"unknown_type"}),
    ({}, {"missing_type"}),
    ('"just a string"', {"not_an_object"}),
    ("42", {"not_an_object"}),
    ("null", {"not_an_object"}),
    ('{"type": "track", "messageId": "r-6"', {"invalid_json"}),
    ("{'type': 'track'}", {"invalid_json"}),
]


def _family_lines():
    return [item for item, _ in FAMILY_ROUTED] + [item for item, _ in FAMILY_REJECTED]


@pytest.fixture(scope="module", params=["plain", "gzip"])
def family(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    source = write_lines(folder / "family.ndjson", _family_lines())
    if request.param == "gzip":
        source = write_gzip(folder / "family-archive", source.read_bytes())
    return source, replay([source], folder / "out")


@pytest.mark.parametrize(("message", "stream"), FAMILY_ROUTED, ids=[s for _, s in FAMILY_ROUTED])
def test_family_routed(family, message: dict, stream: str) -> None:
    _, run = family

    assert run.ids(stream) == [message["messageId"]]


@pytest.mark.parametrize("index", range(len(FAMILY_REJECTED)))
def test_family_reject_reason(family, index: int) -> None:
    _, run = family
    line = len(FAMILY_ROUTED) + index + 1
    matches = [r for r in run.rejects if r["source"]["line"] == line]
    allowed = FAMILY_REJECTED[index][1]

    assert len(matches) == 1, run.rejects
    assert matches[0]["reason"] in allowed


def test_family_reject_source_file(family) -> None:
    source, run = family

    for reject in run.rejects:
        assert Path(reject["source"]["file"]).resolve() == source.resolve()


def test_family_reject_has_raw(family) -> None:
    _, run = family

    for reject in run.rejects:
        assert isinstance(reject["raw"], str) and reject["raw"] != "", reject


def test_family_reject_count(family) -> None:
    _, run = family

    assert sum(run.report["rejects"].values()) == len(FAMILY_REJECTED)
