"""Golden-file test of the complete Singer output for one mixed replay input.

The expected output is tests/fixtures/golden/<name>.singer.jsonl. After an intended change of
the output, rewrite it with `UPDATE_GOLDEN=1 pytest tests/test_golden.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
TEMP_PLACEHOLDER = "<tmp>"
# 2025-06-01T12:00:00Z, the time_extracted of every RECORD.
FROZEN_EPOCH_SECONDS = 1748779200.0

# Runs the console script's entry point with the writer's clock frozen.
FROZEN_TAP = (
    "import sys\n"
    "import tap_segment_webhook.emit.writer as writer\n"
    f"writer.clock = lambda: {FROZEN_EPOCH_SECONDS!r}\n"
    "from tap_segment_webhook.cli import run\n"
    "sys.argv[0] = 'tap-segment-webhook'\n"
    "run()\n"
)


def _run_frozen_tap(folder: Path, input_name: str) -> str:
    config = folder / "config.json"
    config.write_text(
        '{"input_paths": ["%s"], "rejects_path": "%s"}' % (folder / input_name, folder / "rejects.ndjson"),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_SEGMENT_WEBHOOK_")}
    completed = subprocess.run(
        [sys.executable, "-c", FROZEN_TAP, "--config", str(config)],
        cwd=folder,
        capture_output=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr.decode("utf-8", errors="replace")
    return completed.stdout.decode("utf-8")


@pytest.mark.parametrize("name", ["mixed"])
def test_golden_singer_output(name: str, tmp_path: Path) -> None:
    input_name = f"{name}.ndjson"
    shutil.copyfile(GOLDEN / input_name, tmp_path / input_name)
    output = _run_frozen_tap(tmp_path, input_name).replace(str(tmp_path), TEMP_PLACEHOLDER)
    golden = GOLDEN / f"{name}.singer.jsonl"

    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(output, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")

    assert output.splitlines() == expected.splitlines()


def test_golden_covers_mixed_input() -> None:
    # Guards the fixture itself, so a rewrite with UPDATE_GOLDEN=1 cannot drop a feature unseen.
    messages = [json.loads(line) for line in (GOLDEN / "mixed.singer.jsonl").read_text(encoding="utf-8").splitlines()]
    records = [m for m in messages if m["type"] == "RECORD"]
    ids = [m["record"]["message_id"] for m in records]
    columns = {name for m in messages if m["type"] == "SCHEMA" for name in m["schema"]["properties"]}

    assert {m["stream"] for m in records} == {"group", "identify", "page", "screen", "track"}
    assert ids.count("g-track-1") == 1
    assert "g-delete-1" not in ids
    assert "properties__revenue__string" in columns
    assert "traits__address__city" in columns
    assert messages[-1]["type"] == "STATE"
