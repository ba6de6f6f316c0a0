"""Run reports, progress lines, and the segment column style loaded into PostgreSQL."""

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import load
from helpers.inprocess import sync
from tap_segment_webhook.report import summary

EXECUTABLE = Path(sys.executable).with_name("tap-segment-webhook")


def _events(path: Path, count: int) -> Path:
    lines = [
        json.dumps(
            {
                "type": "identify",
                "messageId": f"i-{number}",
                "userId": f"u-{number}",
                "context": {"ip": "203.0.113.9"},
                "traits": {"email": f"{number}@example.invalid", "user_id": "spoof", "address": {"city": "Berlin"}},
            }
        )
        for number in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_progress_logged_when_not_a_terminal(tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(summary, "PROGRESS_INTERVAL_SECONDS", 0.0)
    events = _events(tmp_path / "e.ndjson", 50)
    with caplog.at_level(logging.INFO, logger="tap-segment-webhook.report"):
        sync({"input_paths": [str(events)], "rejects_path": str(tmp_path / "r.ndjson")})
    progress = [record.getMessage() for record in caplog.records if record.getMessage().startswith("Progress:")]
    assert progress
    assert "of 1 files" in progress[-1]
    assert "bytes" in progress[-1]


def test_report_file_written(tmp_path: Path) -> None:
    events = _events(tmp_path / "e.ndjson", 3)
    report_path = tmp_path / "reports" / "run.json"
    sync({"input_paths": [str(events)], "rejects_path": str(tmp_path / "r.ndjson"), "report_path": str(report_path)})
    report = json.loads(report_path.read_text())
    assert report["final"] is True
    assert report["streams"]["identify"]["records"] == 3
    assert report["events"] == 3
    assert "events_per_second" in report


@pytest.mark.slow
def test_listen_writes_interim_reports(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "mode": "listen",
                "listen_port": 0,
                "archive_dir": str(tmp_path / "archive"),
                "rejects_path": str(tmp_path / "r.ndjson"),
                "report_interval_seconds": 0.5,
                "max_run_seconds": 2.5,
            }
        )
    )
    started = time.monotonic()
    result = subprocess.run([str(EXECUTABLE), "--config", str(config)], capture_output=True, timeout=60)
    assert result.returncode == 0
    assert time.monotonic() - started >= 2.5
    assert result.stderr.count(b"Report so far") >= 2
    assert b"Run finished" in result.stderr


@pytest.mark.postgres
def test_segment_style_loads(tmp_path: Path, postgres, pg_schema: str) -> None:
    events = _events(tmp_path / "e.ndjson", 5)
    load(
        {"input_paths": [str(events)], "column_style": "segment"},
        pg_schema,
        sqlalchemy_url=postgres.sqlalchemy_url,
    )
    columns = postgres.column_names(pg_schema, "identify")
    assert postgres.row_count(pg_schema, "identify") == 5
    assert "email" in columns
    assert "address_city" in columns
    assert "context_ip" in columns
    assert "_user_id" in columns
