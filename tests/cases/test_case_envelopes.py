"""Envelope shapes: batch envelope, bare array, NDJSON, gzip found by its magic bytes."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

from case_kit import CASES, case_file, copy_case, load_into, replay, write_gzip, write_lines

CASE = "08-envelopes"
SHAPES = ["batch-envelope.json", "bare-array.json", "lines.ndjson", "compressed-without-extension"]
WITH_ENVELOPE = ["batch-envelope.json", "compressed-without-extension"]
SECRET = "wk-secret-value"
ENVELOPE = json.loads(case_file(CASE, "batch-envelope.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return {name: replay([case_file(CASE, name)], tmp_path_factory.mktemp("shape")) for name in SHAPES}


def _payload(record: dict) -> dict:
    # Envelope-derived columns differ between shapes, so compare the item's own fields only.
    return {k: v for k, v in record.items() if not k.startswith(("context__", "integrations__")) and k != "sent_at"}


def test_compressed_fixture_is_gzip() -> None:
    assert case_file(CASE, "compressed-without-extension").read_bytes()[:2] == b"\x1f\x8b"


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_track_record(runs, shape: str) -> None:
    assert runs[shape].ids("track") == ["env-1"]


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_identify_record(runs, shape: str) -> None:
    assert runs[shape].ids("identify") == ["env-2"]


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_same_payload(runs, shape: str) -> None:
    expected = [_payload(r) for r in runs["lines.ndjson"].records()]

    assert [_payload(r) for r in runs[shape].records()] == expected


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_no_rejects(runs, shape: str) -> None:
    assert runs[shape].rejects == []


@pytest.mark.parametrize("shape", WITH_ENVELOPE)
def test_envelope_ip_merged(runs, shape: str) -> None:
    assert runs[shape].by_id("track")["env-1"]["context__ip"] == "198.51.100.1"


@pytest.mark.parametrize("shape", WITH_ENVELOPE)
def test_item_ip_wins(runs, shape: str) -> None:
    assert runs[shape].by_id("identify")["env-2"]["context__ip"] == "198.51.100.20"


@pytest.mark.parametrize("stream", ["track", "identify"])
@pytest.mark.parametrize("shape", WITH_ENVELOPE)
def test_envelope_library_merged(runs, shape: str, stream: str) -> None:
    (record,) = runs[shape].records(stream)

    assert record["context__library__name"] == "test-lib"
    assert record["context__library__version"] == "1.0"


@pytest.mark.parametrize("shape", SHAPES)
def test_write_key_not_in_output(runs, shape: str) -> None:
    run = runs[shape]

    assert SECRET not in run.result.stdout
    assert SECRET not in run.stderr
    assert SECRET not in run.rejects_text
    assert SECRET not in run.report_text


@pytest.mark.parametrize("shape", SHAPES)
def test_write_key_no_column(runs, shape: str) -> None:
    for stream in ("track", "identify"):
        assert [c for c in runs[shape].columns(stream) if "write_key" in c] == []


def test_empty_batch_no_records(tmp_path: Path) -> None:
    run = replay([case_file(CASE, "empty-batch.json")], tmp_path)

    assert run.records() == []
    assert run.rejects == []


def test_folder_each_id_once(tmp_path: Path) -> None:
    run = replay([CASES / CASE], tmp_path)

    assert run.ids("track") == ["env-1"]
    assert run.ids("identify") == ["env-2"]


def test_folder_no_rejects(tmp_path: Path) -> None:
    run = replay([CASES / CASE], tmp_path)

    assert run.rejects == []


def test_folder_write_key_absent(tmp_path: Path) -> None:
    run = replay([CASES / CASE], tmp_path)

    assert SECRET not in run.result.stdout + run.stderr + run.rejects_text + run.report_text


def test_load_folder(tmp_path: Path, postgres, pg_schema: str) -> None:
    load_into(postgres, pg_schema, [copy_case(CASE, tmp_path)], tmp_path / "out")

    assert postgres.column_values(pg_schema, "track", "message_id") == ["env-1"]
    assert postgres.column_values(pg_schema, "identify", "message_id") == ["env-2"]


# Other members of the family.
def _gzip_ndjson(folder: Path) -> Path:
    return write_gzip(folder / "segment-logs-part", case_file(CASE, "lines.ndjson").read_bytes())


def _gzip_array_named_gz(folder: Path) -> Path:
    return write_gzip(folder / "array.json.gz", case_file(CASE, "bare-array.json").read_bytes())


def _envelope_lines(folder: Path) -> Path:
    # Two envelopes in one NDJSON file, with integrations on the envelope and on one item.
    envelope = copy.deepcopy(ENVELOPE)
    envelope["integrations"] = {"All": False, "Mixpanel": True}
    envelope["batch"][1]["integrations"] = {"Mixpanel": False}
    empty = {"batch": [], "writeKey": SECRET}
    return write_lines(folder / "envelopes.ndjson", [envelope, empty])


def _pretty_single(folder: Path) -> Path:
    path = folder / "single.json"
    message = {"type": "track", "messageId": "env-1", "userId": "u-1", "event": "Song Played",
               "properties": {"title": "Test Tune"}, "writeKey": SECRET}
    identify = {"batch": [{"type": "identify", "messageId": "env-2", "userId": "u-1",
                           "traits": {"name": "Test Person"}, "context": {"ip": "198.51.100.20"},
                           "writeKey": SECRET}], "writeKey": SECRET}
    path.write_text(json.dumps(message, indent=2), encoding="utf-8")
    write_lines(folder / "second.ndjson", [identify])
    return folder


def _gzip_envelope_with_reject(folder: Path) -> Path:
    envelope = copy.deepcopy(ENVELOPE)
    envelope["batch"].append({"type": "delete", "messageId": "env-3", "writeKey": SECRET})
    return write_gzip(folder / "with-reject.bin", json.dumps(envelope).encode())


FAMILY = {
    "gzip-ndjson": (_gzip_ndjson, False),
    "gzip-array-gz": (_gzip_array_named_gz, False),
    "envelope-lines": (_envelope_lines, True),
    "single-and-item-key": (_pretty_single, False),
    "gzip-envelope-reject": (_gzip_envelope_with_reject, True),
}


@pytest.fixture(scope="module", params=sorted(FAMILY))
def family_run(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    build, _ = FAMILY[request.param]
    inputs = folder / "in"
    inputs.mkdir()
    return replay([build(inputs)], folder / "out")


def test_family_same_records(family_run) -> None:
    run = family_run

    assert run.ids("track") == ["env-1"]
    assert run.ids("identify") == ["env-2"]


def test_family_item_fields(family_run) -> None:
    run = family_run

    assert run.by_id("track")["env-1"]["properties__title"] == "Test Tune"
    assert run.by_id("identify")["env-2"]["context__ip"] == "198.51.100.20"


@pytest.mark.parametrize("name", sorted(name for name, (_, has_envelope) in FAMILY.items() if has_envelope))
def test_family_envelope_context(name: str, tmp_path: Path) -> None:
    build, _ = FAMILY[name]
    (tmp_path / "in").mkdir()
    run = replay([build(tmp_path / "in")], tmp_path / "out")

    assert run.by_id("track")["env-1"]["context__ip"] == "198.51.100.1"


def test_family_write_key_absent(family_run) -> None:
    run = family_run

    assert SECRET not in run.result.stdout + run.stderr + run.rejects_text + run.report_text


def test_family_item_integrations_win(tmp_path: Path) -> None:
    run = replay([_envelope_lines(tmp_path)], tmp_path / "out")

    assert run.by_id("track")["env-1"]["integrations__mixpanel"] is True
    assert run.by_id("identify")["env-2"]["integrations__mixpanel"] is False


def test_family_envelope_integrations_merged(tmp_path: Path) -> None:
    run = replay([_envelope_lines(tmp_path)], tmp_path / "out")

    assert run.by_id("identify")["env-2"]["integrations__all"] is False


def test_family_envelope_reject_counted(tmp_path: Path) -> None:
    run = replay([_gzip_envelope_with_reject(tmp_path)], tmp_path / "out")

    assert [reject["reason"] for reject in run.rejects] == ["unknown_type"]


def test_byte_order_mark_accepted(tmp_path: Path) -> None:
    source = tmp_path / "exported-with-bom.json"
    source.write_bytes(b"\xef\xbb\xbf" + case_file(CASE, "batch-envelope.json").read_bytes())
    run = replay([source], tmp_path / "out")

    assert run.ids("track") == ["env-1"]
    assert run.ids("identify") == ["env-2"]


def test_gzip_magic_not_extension(tmp_path: Path) -> None:
    # A name ending in .gz does not make plain text gzip.
    source = tmp_path / "plain.ndjson.gz"
    source.write_bytes(case_file(CASE, "lines.ndjson").read_bytes())
    run = replay([source], tmp_path / "out")

    assert run.ids("track") == ["env-1"]


def test_gzip_fixture_round_trip() -> None:
    data = gzip.decompress(case_file(CASE, "compressed-without-extension").read_bytes())

    assert json.loads(data)["batch"][0]["messageId"] == "env-1"
