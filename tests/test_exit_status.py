"""Exit codes and one-line errors of the command line."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tap_segment_webhook.cli import ExitStatus, main

EXECUTABLE = Path(sys.executable).with_name("tap-segment-webhook")


def _config(tmp_path: Path, **settings) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"rejects_path": str(tmp_path / "rejects.ndjson"), **settings}))
    return str(path)


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "absent.json")]) == ExitStatus.CONFIG_ERROR
    assert "Check the --config" in capsys.readouterr().err


def test_invalid_setting(tmp_path: Path) -> None:
    assert main(["--config", _config(tmp_path, column_style="weird")]) == ExitStatus.CONFIG_ERROR


def test_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--config", _config(tmp_path, input_paths=[str(tmp_path / "none-*.json")])])
    assert status == ExitStatus.INPUT_ERROR
    assert "Input path not found" in capsys.readouterr().err


def test_public_bind_without_auth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--config", _config(tmp_path, mode="listen", listen_host="0.0.0.0", archive_dir=str(tmp_path))])
    assert status == ExitStatus.LISTEN_ERROR
    assert "allow_unauthenticated_public" in capsys.readouterr().err


def test_port_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status = main(["--config", _config(tmp_path, mode="listen", listen_port=port, archive_dir=str(tmp_path))])
    assert status == ExitStatus.LISTEN_ERROR
    assert "in use" in capsys.readouterr().err


def test_closed_stdout(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text("".join(json.dumps({"type": "track", "messageId": str(i)}) + "\n" for i in range(50_000)))
    process = subprocess.Popen(
        [str(EXECUTABLE), "--config", _config(tmp_path, input_paths=[str(events)])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.read(100)
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == ExitStatus.OUTPUT_CLOSED
    assert b"stdout was closed" in stderr


def test_unwritable_rejects_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text("not json\n")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    status = main(["--config", _config(tmp_path, input_paths=[str(events)], rejects_path=str(blocker / "r.ndjson"))])
    assert status == ExitStatus.CONFIG_ERROR
    assert "cannot write the rejects file" in capsys.readouterr().err
