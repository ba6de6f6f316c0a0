"""The Singer writer, duplicate skipping and the rejects file."""

import io
import json
from decimal import Decimal
from pathlib import Path

from tap_segment_webhook.emit import writer as writer_module
from tap_segment_webhook.emit.dedupe import DuplicateFilter
from tap_segment_webhook.emit.writer import SingerWriter
from tap_segment_webhook.report.rejects import RejectsWriter


def test_writer_lines_are_singer_messages(monkeypatch) -> None:
    monkeypatch.setattr(writer_module, "clock", lambda: 1_700_000_000.25)
    output = io.BytesIO()
    writer = SingerWriter(output)
    writer.write_schema("track", {"type": "object"}, ["message_id"])
    writer.write_record("track", {"message_id": "1", "n": Decimal("1.50")})
    writer.write_state({"bookmarks": {}})
    writer.flush()
    lines = [json.loads(line) for line in output.getvalue().splitlines()]
    assert [line["type"] for line in lines] == ["SCHEMA", "RECORD", "STATE"]
    assert lines[1]["time_extracted"] == "2023-11-14T22:13:20.250Z"
    assert b'"n":1.50' in output.getvalue()


def test_duplicates_are_per_stream() -> None:
    duplicates = DuplicateFilter(10)
    assert not duplicates.is_duplicate("track", "a")
    assert duplicates.is_duplicate("track", "a")
    assert not duplicates.is_duplicate("identify", "a")


def test_duplicate_window_forgets_oldest() -> None:
    duplicates = DuplicateFilter(2)
    for message_id in ("a", "b", "c"):
        duplicates.is_duplicate("track", message_id)
    assert not duplicates.is_duplicate("track", "a")
    assert duplicates.is_duplicate("track", "c")


def test_rejects_redact_write_keys(tmp_path: Path) -> None:
    path = tmp_path / "rejects.ndjson"
    rejects = RejectsWriter(path)
    rejects.write("invalid_json", {"file": "f", "line": 3}, b'{"writeKey": "wk-secret", "x": ')
    rejects.close()
    entry = json.loads(path.read_text())
    assert entry["reason"] == "invalid_json"
    assert entry["source"] == {"file": "f", "line": 3}
    assert "wk-secret" not in path.read_text()
    assert rejects.counts["invalid_json"] == 1


def test_rejects_file_created_lazily(tmp_path: Path) -> None:
    path = tmp_path / "rejects.ndjson"
    RejectsWriter(path).close()
    assert not path.exists()


def test_rejects_redact_spellings_and_secrets(tmp_path: Path) -> None:
    rejects = RejectsWriter(None, secrets=["configured-secret"])
    assert rejects.redact("{'write_key': 'abc'}") == "{'write_key': '[redacted]'}"
    assert rejects.redact("writeKey=abc&x=1") == "writeKey=[redacted]&x=1"
    assert rejects.redact("text configured-secret text") == "text [redacted] text"
