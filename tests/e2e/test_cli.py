"""The installed command line, run the way the README and Meltano run it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import ALL_STREAMS, DEFAULT_STREAMS, parse_singer_lines, run_tap, venv_executable

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parent.parent.parent
FIXTURE = REPOSITORY / "tests" / "fixtures" / "sdk_standard"
SETTINGS = ("mode", "input_paths", "column_style", "rejects_path", "report_path")


def test_sample_config_emits_records() -> None:
    # The exact first command a new user runs, from the repository root.
    completed = subprocess.run(
        [str(venv_executable("tap-segment-webhook")), "--config", "sample_config.json"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr
    messages = parse_singer_lines(completed.stdout)

    assert any(m["type"] == "RECORD" for m in messages)
    assert messages[-1]["type"] == "STATE"


def test_about_markdown_lists_settings() -> None:
    result = run_tap({}, args=["--about", "--format", "markdown"])

    assert result.returncode == 0, result.stderr
    for setting in SETTINGS:
        assert setting in result.stdout, setting


def test_discover_selects_default_streams() -> None:
    result = run_tap({"input_paths": [str(FIXTURE)]}, args=["--discover"])
    assert result.returncode == 0, result.stderr
    catalog = json.loads(result.stdout)
    entries = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}

    assert sorted(entries) == sorted(ALL_STREAMS)
    for stream, entry in entries.items():
        assert entry["key_properties"] == ["message_id"], stream
        (root,) = [m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == []]
        selected = root.get("selected", root.get("selected-by-default"))
        assert selected is (stream != "alias"), stream


def test_discover_samples_input_columns() -> None:
    result = run_tap({"input_paths": [str(FIXTURE)]}, args=["--discover"])
    assert result.returncode == 0, result.stderr
    schemas = {e["tap_stream_id"]: e["schema"] for e in json.loads(result.stdout)["streams"]}
    identify = schemas["identify"]["properties"]
    track = schemas["track"]["properties"]

    assert "traits__address__city" in identify
    assert "string" in identify["traits__address__city"]["type"]
    assert "properties__revenue" in track
    assert "number" in track["properties__revenue"]["type"]
    assert track["received_at"].get("format") == "date-time"


def test_config_from_environment() -> None:
    env = {"TAP_SEGMENT_WEBHOOK_INPUT_PATHS": json.dumps([str(FIXTURE)])}

    result = run_tap({}, args=["--config", "ENV"], env=env).check()

    for stream in DEFAULT_STREAMS:
        assert len(result.records(stream)) == 1, stream


def test_test_flag_syncs_one_record_per_stream() -> None:
    result = run_tap({"input_paths": [str(FIXTURE)]}, args=["--test"])

    assert result.returncode == 0, result.stderr
    streams = [m["stream"] for m in result.of_type("RECORD")]
    assert len(streams) == len(set(streams))
    # singer-sdk's --test selects every stream, alias included.
    assert set(streams) == set(ALL_STREAMS)


def test_invalid_column_style_fails() -> None:
    config = {"input_paths": [str(FIXTURE)], "column_style": "sideways"}

    result = run_tap(config)

    assert result.returncode != 0
    assert "column_style" in result.stderr


def test_missing_input_file_fails_clearly(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file.ndjson"

    result = run_tap({"input_paths": [str(missing)]})

    assert result.returncode != 0
    assert str(missing) in result.stderr


def test_records_never_go_to_stderr() -> None:
    result = run_tap({"input_paths": [str(FIXTURE)]}).check()

    assert result.records()
    for message in result.messages:
        assert message["type"] in {"SCHEMA", "RECORD", "STATE"}
    assert "std-track-1" not in result.stderr
