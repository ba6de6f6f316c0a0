"""Catalogs as Meltano passes them, and discovery that samples the configured input."""

import copy
import json
from pathlib import Path

from helpers.inprocess import discover, sync


def _write(path: Path, *messages: dict) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return path


def _config(tmp_path: Path, path: Path, **extra) -> dict:
    return {"input_paths": [str(path)], "rejects_path": str(tmp_path / "rejects.ndjson"), **extra}


def _entry(catalog: dict, stream: str) -> dict:
    return next(entry for entry in catalog["streams"] if entry["tap_stream_id"] == stream)


def _set_selected(catalog: dict, stream: str, breadcrumb: list, selected: bool) -> None:
    for item in _entry(catalog, stream)["metadata"]:
        if item["breadcrumb"] == breadcrumb:
            item["metadata"]["selected"] = selected
            return
    _entry(catalog, stream)["metadata"].append({"breadcrumb": breadcrumb, "metadata": {"selected": selected}})


def test_discovery_samples_columns(tmp_path: Path) -> None:
    events = _write(
        tmp_path / "e.ndjson",
        {"type": "track", "messageId": "1", "properties": {"v": 1, "when": "x"}},
        {"type": "track", "messageId": "2", "properties": {"v": "one"}},
    )
    catalog = discover(_config(tmp_path, events))
    properties = _entry(catalog, "track")["schema"]["properties"]
    assert properties["properties__v"]["type"] == ["string", "null"]
    assert properties["properties__when"]["type"] == ["string", "null"]
    assert _entry(catalog, "track")["key_properties"] == ["message_id"]


def test_discovery_leaves_alias_unselected(tmp_path: Path) -> None:
    events = _write(tmp_path / "e.ndjson", {"type": "alias", "messageId": "1"})
    catalog = discover(_config(tmp_path, events))
    root = next(m for m in _entry(catalog, "alias")["metadata"] if m["breadcrumb"] == [])
    assert root["metadata"]["selected-by-default"] is False


def test_keys_missing_from_catalog_still_arrive(tmp_path: Path) -> None:
    first = _write(tmp_path / "first.ndjson", {"type": "track", "messageId": "1", "properties": {"a": 1}})
    catalog = discover(_config(tmp_path, first))
    both = _write(
        tmp_path / "both.ndjson",
        {"type": "track", "messageId": "1", "properties": {"a": 1}},
        {"type": "track", "messageId": "2", "properties": {"a": 2, "late": True}},
    )
    output = sync(_config(tmp_path, both), catalog=catalog)
    records = output.records("track")
    assert records[1]["properties__late"] is True
    late_schema_index = next(
        i for i, m in enumerate(output.messages) if m["type"] == "SCHEMA" and "properties__late" in m["schema"]["properties"]
    )
    second_record_index = next(i for i, m in enumerate(output.messages) if m["type"] == "RECORD" and m["record"]["message_id"] == "2")
    assert late_schema_index < second_record_index


def test_deselected_stream_and_property(tmp_path: Path) -> None:
    events = _write(
        tmp_path / "e.ndjson",
        {"type": "track", "messageId": "1", "properties": {"email": "a@example.invalid", "plan": "x"}},
        {"type": "page", "messageId": "2", "name": "Home"},
    )
    catalog = discover(_config(tmp_path, events))
    selected = copy.deepcopy(catalog)
    _set_selected(selected, "page", [], False)
    _set_selected(selected, "track", ["properties", "properties__email"], False)
    output = sync(_config(tmp_path, events), catalog=selected)
    assert output.records("page") == []
    assert output.schemas("page") == []
    assert "properties__email" not in output.records("track")[0]
    assert "properties__email" not in output.schemas("track")[-1]["properties"]
    assert output.records("track")[0]["properties__plan"] == "x"


def test_alias_emitted_when_selected(tmp_path: Path) -> None:
    events = _write(tmp_path / "e.ndjson", {"type": "alias", "messageId": "a-1", "previousId": "p", "userId": "u"})
    catalog = discover(_config(tmp_path, events))
    without = sync(_config(tmp_path, events), catalog=catalog)
    _set_selected(catalog, "alias", [], True)
    selected = sync(_config(tmp_path, events), catalog=catalog)
    assert without.records("alias") == []
    assert selected.records("alias")[0]["previous_id"] == "p"


def test_catalog_type_wins_over_data(tmp_path: Path) -> None:
    events = _write(tmp_path / "e.ndjson", {"type": "track", "messageId": "1", "properties": {"code": 7}})
    catalog = discover(_config(tmp_path, events))
    _entry(catalog, "track")["schema"]["properties"]["properties__code"] = {"type": ["string", "null"]}
    output = sync(_config(tmp_path, events), catalog=catalog)
    assert output.records("track")[0]["properties__code"] == "7"


def test_stream_map_hashes_email(tmp_path: Path) -> None:
    events = _write(tmp_path / "e.ndjson", {"type": "identify", "messageId": "1", "traits": {"email": "a@example.invalid"}})
    config = _config(
        tmp_path,
        events,
        stream_maps={"identify": {"traits__email": "sha256(traits__email) if traits__email else None"}},
    )
    output = sync(config)
    record = output.records("identify")[0]
    assert record["traits__email"] != "a@example.invalid"
    assert len(record["traits__email"]) == 64


def test_integration_name_skips_filtered(tmp_path: Path) -> None:
    events = _write(
        tmp_path / "e.ndjson",
        {"type": "track", "messageId": "1", "integrations": {"All": False}},
        {"type": "track", "messageId": "2", "integrations": {"All": False, "Stitch": True}},
        {"type": "track", "messageId": "3", "integrations": {"Stitch": False}},
        {"type": "track", "messageId": "4"},
    )
    output = sync(_config(tmp_path, events, integration_name="Stitch", report_path=str(tmp_path / "r.json")))
    assert [r["message_id"] for r in output.records("track")] == ["2", "4"]
    assert output.report["streams"]["track"]["skipped_by_integrations"] == 2


def test_catalog_oddities_are_logged(tmp_path: Path, caplog) -> None:
    events = _write(tmp_path / "e.ndjson", {"type": "track", "messageId": "1"})
    catalog = discover(_config(tmp_path, events))
    _entry(catalog, "track")["key_properties"] = ["user_id"]
    extra = copy.deepcopy(_entry(catalog, "track"))
    extra["tap_stream_id"] = extra["stream"] = "orders"
    catalog["streams"].append(extra)
    with caplog.at_level("WARNING", logger="tap-segment-webhook.sync"):
        output = sync(_config(tmp_path, events), catalog=catalog)
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "stream 'orders'" in messages
    assert "key properties ['user_id']" in messages
    assert output.records("track")[0]["message_id"] == "1"


def test_column_style_change_is_logged(tmp_path: Path, caplog) -> None:
    events = _write(tmp_path / "e.ndjson", {"type": "track", "messageId": "1", "properties": {"a": 1}})
    first = sync(_config(tmp_path, events))
    with caplog.at_level("WARNING", logger="tap-segment-webhook.sync"):
        sync(_config(tmp_path, events, column_style="segment"), state=first.final_state)
    assert "column_style 'flat'" in " ".join(record.getMessage() for record in caplog.records)
