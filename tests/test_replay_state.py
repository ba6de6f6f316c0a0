"""Replay state: finished files are skipped, grown files resume, changed files restart."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers.inprocess import sync


def _event(number: int) -> str:
    return json.dumps({"type": "track", "messageId": f"m-{number}", "event": "E", "properties": {"n": number}}) + "\n"


def _config(tmp_path: Path, *paths: Path, **extra) -> dict:
    return {"input_paths": [str(p) for p in paths], "rejects_path": str(tmp_path / "rejects.ndjson"), **extra}


def test_second_run_with_state_emits_nothing(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text("".join(_event(i) for i in range(5)))
    first = sync(_config(tmp_path, events))
    second = sync(_config(tmp_path, events), state=first.final_state)
    assert len(first.records()) == 5
    assert second.records() == []
    assert second.report["files"]["skipped_unchanged"] == 1


def test_appended_lines_resume_at_offset(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text("".join(_event(i) for i in range(3)))
    first = sync(_config(tmp_path, events))
    with events.open("a") as handle:
        handle.write(_event(3) + _event(4))
    second = sync(_config(tmp_path, events), state=first.final_state)
    assert [r["message_id"] for r in second.records()] == ["m-3", "m-4"]


def test_changed_file_is_read_again(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text(_event(1))
    first = sync(_config(tmp_path, events))
    events.write_text(_event(7) + _event(8))
    second = sync(_config(tmp_path, events), state=first.final_state)
    assert [r["message_id"] for r in second.records()] == ["m-7", "m-8"]


def test_columns_survive_across_runs(tmp_path: Path) -> None:
    first_file = tmp_path / "a.ndjson"
    first_file.write_text(json.dumps({"type": "track", "messageId": "1", "properties": {"v": 1}}) + "\n")
    second_file = tmp_path / "b.ndjson"
    second_file.write_text(json.dumps({"type": "track", "messageId": "2", "properties": {"v": "x"}}) + "\n")
    first = sync(_config(tmp_path, first_file))
    second = sync(_config(tmp_path, first_file, second_file), state=first.final_state)
    assert second.records() == [{"type": "track", "message_id": "2", "properties__v__string": "x"}]
    assert second.schemas("track")[-1]["properties"]["properties__v"]["type"] == ["number", "null"]


def test_mid_run_state_resumes_near_stop(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text("".join(_event(i) for i in range(10)))
    full = sync(_config(tmp_path, events, state_interval_records=3))
    middle = full.states()[1]
    resumed = sync(_config(tmp_path, events), state=middle)
    offset = middle["replay"]["files"][str(events)]["offset"]
    emitted_before = events.read_bytes()[:offset].count(b"\n")
    assert [r["message_id"] for r in resumed.records()] == [f"m-{i}" for i in range(emitted_before, 10)]


def test_sigterm_stops_with_final_state(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    with events.open("w") as handle:
        for i in range(300_000):
            handle.write(_event(i))
    config = tmp_path / "config.json"
    config.write_text(json.dumps(_config(tmp_path, events, state_interval_records=1000)))
    executable = Path(sys.executable).with_name("tap-segment-webhook")
    process = subprocess.Popen([str(executable), "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=60)
    messages = [json.loads(line) for line in stdout.splitlines()]
    records = [m for m in messages if m["type"] == "RECORD"]
    assert process.returncode == 0
    assert messages[-1]["type"] == "STATE"
    assert 0 < len(records) < 300_000
    rest = sync(_config(tmp_path, events), state=messages[-1]["value"])
    seen = {r["record"]["message_id"] for r in records} | {r["message_id"] for r in rest.records()}
    assert len(seen) == 300_000
    assert os.path.exists(events)


def test_s3_destination_layout(tmp_path: Path) -> None:
    import gzip

    root = tmp_path / "segment-logs"
    for source, day, numbers in (("src-a", "1709596800000", range(0, 3)), ("src-a", "1709683200000", range(3, 5)), ("src-b", "1709596800000", range(5, 6))):
        folder = root / source / day
        folder.mkdir(parents=True)
        (folder / f"{day}-part.gz").write_bytes(gzip.compress("".join(_event(i) for i in numbers).encode()))
    first = sync(_config(tmp_path, root))
    again = sync(_config(tmp_path, root), state=first.final_state)
    assert [r["message_id"] for r in first.records()] == [f"m-{i}" for i in range(6)]
    assert again.records() == []


def test_many_files_write_few_states(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(300):
        (folder / f"f{number:04d}.json").write_text(_event(number))
    output = sync(_config(tmp_path, folder))
    assert len(output.records()) == 300
    assert len(output.states()) <= 3


def test_unreadable_file_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.ndjson").write_text(_event(1))
    (folder / "b.ndjson").symlink_to(tmp_path / "missing.ndjson")
    (folder / "c.ndjson").write_text(_event(3))
    output = sync(_config(tmp_path, folder, report_path=str(tmp_path / "report.json")))
    rejects = [json.loads(line) for line in (tmp_path / "rejects.ndjson").read_text().splitlines()]
    assert [r["message_id"] for r in output.records()] == ["m-1", "m-3"]
    assert [r["reason"] for r in rejects] == ["unreadable_input"]
    assert rejects[0]["source"]["file"].endswith("b.ndjson")


def test_fifo_in_folder_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.ndjson").write_text(_event(1))
    os.mkfifo(folder / "b.fifo")
    output = sync(_config(tmp_path, folder))
    assert [r["message_id"] for r in output.records()] == ["m-1"]


def test_unchanged_incomplete_tail_rejected_next_run(tmp_path: Path) -> None:
    events = tmp_path / "dump.json"
    events.write_text(_event(1) + '{"type":"track","messageId":"x1",')
    first = sync(_config(tmp_path, events))
    assert not (tmp_path / "rejects.ndjson").exists()
    second = sync(_config(tmp_path, events), state=first.final_state)
    rejects = [json.loads(line) for line in (tmp_path / "rejects.ndjson").read_text().splitlines()]
    third = sync(_config(tmp_path, events), state=second.final_state)
    assert [r["message_id"] for r in first.records()] == ["m-1"]
    assert second.records() == []
    assert [r["reason"] for r in rejects] == ["invalid_json"]
    assert third.report["files"]["skipped_unchanged"] == 1


def test_invalid_state_parts_ignored(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text(_event(1))
    first = sync(_config(tmp_path, events))
    state = first.final_state
    state["replay"]["files"][str(events)]["offset"] = -5
    state["replay"]["files"][str(events)]["done"] = False
    state["bookmarks"]["track"]["columns"].append(["broken"])
    again = sync(_config(tmp_path, events), state=state)
    assert [r["message_id"] for r in again.records()] == ["m-1"]
