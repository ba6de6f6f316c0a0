"""Build a wheel, install it outside the source tree and run the tap from there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).resolve().parent.parent
STREAMS = ("alias", "group", "identify", "page", "screen", "track")
SETTINGS = ("mode", "input_paths", "column_style", "rejects_path", "report_path")

# Folders that are not part of a source distribution and may be large.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".corpus",
    "segment-archive",
)

# Runs in the child interpreter: reports where the package and its schemas
# were imported from, and the stream names in each schema file.
PROBE = """
import importlib.resources
import json
import tap_segment_webhook

schemas = importlib.resources.files("tap_segment_webhook.schemas")
loaded = {}
for entry in schemas.iterdir():
    if entry.name.endswith(".json"):
        loaded[entry.name] = json.loads(entry.read_text(encoding="utf-8"))
print(json.dumps({
    "package": tap_segment_webhook.__file__,
    "schemas": str(schemas),
    "properties": {name: sorted(schema.get("properties", {})) for name, schema in loaded.items()},
}))
"""


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert completed.returncode == 0, (
        f"{' '.join(command)} exited with {completed.returncode}\n"
        f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
    )
    return completed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a copy of the source tree, so the build leaves no files behind."""
    work = tmp_path_factory.mktemp("wheel-build")
    source = work / "source"
    shutil.copytree(REPOSITORY, source, ignore=NOT_SOURCE)
    # --no-isolation builds with this environment's setuptools and wheel
    # instead of downloading them again.
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(work / "dist"), str(source)])
    (built,) = (work / "dist").glob("*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("wheel-install")
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)])
    return target


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working folder outside the repository, so nothing is imported from the source tree."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def installed_env(installed: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_SEGMENT_WEBHOOK_")}
    env["PYTHONPATH"] = str(installed)
    return env


def test_wheel_contains_stream_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())

    for stream in STREAMS:
        assert f"tap_segment_webhook/schemas/{stream}.json" in names


def test_installed_schemas_load(installed: Path, outside: Path) -> None:
    completed = run([sys.executable, "-c", PROBE], cwd=outside, env=installed_env(installed))
    report = json.loads(completed.stdout)

    assert Path(report["package"]).is_relative_to(installed)
    assert Path(report["schemas"]).is_relative_to(installed)
    for stream in STREAMS:
        properties = report["properties"].get(f"{stream}.json")
        assert properties is not None, f"{stream}.json not found in {report['schemas']}"
        assert "message_id" in properties, stream


def test_installed_about_lists_settings(installed: Path, outside: Path) -> None:
    command = [str(installed / "bin" / "tap-segment-webhook"), "--about", "--format", "json"]
    completed = run(command, cwd=outside, env=installed_env(installed))
    about = json.loads(completed.stdout)

    assert about["name"] == "tap-segment-webhook"
    for setting in SETTINGS:
        assert setting in about["settings"]["properties"], setting
    for capability in ("catalog", "discover", "state", "about"):
        assert capability in about["capabilities"], capability


def test_installed_discover_lists_streams(installed: Path, outside: Path) -> None:
    sample = REPOSITORY / "tests" / "fixtures" / "sdk_standard" / "events.ndjson"
    config = outside / "config.json"
    config.write_text(json.dumps({"input_paths": [str(sample)]}), encoding="utf-8")
    command = [str(installed / "bin" / "tap-segment-webhook"), "--config", str(config), "--discover"]

    completed = run(command, cwd=outside, env=installed_env(installed))
    catalog = json.loads(completed.stdout)

    assert sorted(entry["tap_stream_id"] for entry in catalog["streams"]) == sorted(STREAMS)
