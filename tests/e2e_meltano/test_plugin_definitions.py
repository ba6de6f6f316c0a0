"""Check meltano.yml and the Meltano Hub definition against the --about output of tap and target.

A setting the tap adds or changes must appear in both files with the Meltano kind that matches
its JSON schema type, or Meltano users cannot set it with `meltano config`.
"""

from __future__ import annotations

import json
import subprocess
import typing as t

import pytest
import yaml

from e2e_meltano.tool_venvs import REPOSITORY
from helpers import venv_executable

MELTANO_YML = REPOSITORY / "meltano.yml"
HUB_DEFINITION = REPOSITORY / "meltano-hub" / "extractors" / "tap-segment-webhook.yml"

# Meltano setting kind for each JSON schema type. A schema with `enum` is kind `options`.
KIND_BY_TYPE = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}

CAPABILITIES = {"catalog", "discover", "state", "about", "stream-maps", "schema-flattening"}

HUB_FIELDS = (
    "name",
    "variant",
    "namespace",
    "label",
    "description",
    "repo",
    "pip_url",
    "executable",
    "capabilities",
    "settings",
    "keywords",
    "maintenance_status",
)

MAINTENANCE_STATUSES = {"active", "beta", "development", "inactive", "deprecated", "unknown"}


def about_settings(executable: str) -> dict[str, dict[str, t.Any]]:
    output = subprocess.run(
        [str(venv_executable(executable)), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return json.loads(output)["settings"]["properties"]


def expected_setting(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """Return the kind, options and sensitivity that a Meltano setting for `schema` needs."""
    types = [name for name in schema.get("type", []) if name != "null"]
    expected: dict[str, t.Any] = {"kind": KIND_BY_TYPE[types[0]]}
    if "enum" in schema:
        expected = {"kind": "options", "options": list(schema["enum"])}
    expected["sensitive"] = bool(schema.get("secret"))
    return expected


def actual_setting(setting: dict[str, t.Any]) -> dict[str, t.Any]:
    actual: dict[str, t.Any] = {"kind": setting.get("kind", "string")}
    if "options" in setting:
        actual["options"] = [option["value"] for option in setting["options"]]
    actual["sensitive"] = bool(setting.get("sensitive"))
    return actual


def plugin(kind: str, name: str) -> dict[str, t.Any]:
    definition = yaml.safe_load(MELTANO_YML.read_text(encoding="utf-8"))
    return next(p for p in definition["plugins"][kind] if p["name"] == name)


TAP_ABOUT = about_settings("tap-segment-webhook")
EXTRACTOR = plugin("extractors", "tap-segment-webhook")
LOADER = plugin("loaders", "target-postgres")
HUB = yaml.safe_load(HUB_DEFINITION.read_text(encoding="utf-8"))


def test_extractor_setting_names() -> None:
    assert [s["name"] for s in EXTRACTOR["settings"]] == list(TAP_ABOUT)


@pytest.mark.parametrize("name", list(TAP_ABOUT))
def test_extractor_setting_kind(name: str) -> None:
    setting = next((s for s in EXTRACTOR["settings"] if s["name"] == name), None)
    assert setting is not None, f"meltano.yml has no setting {name!r} for the extractor"
    assert actual_setting(setting) == expected_setting(TAP_ABOUT[name])


@pytest.mark.parametrize("setting", EXTRACTOR["settings"], ids=lambda s: s["name"])
def test_extractor_setting_described(setting: dict[str, t.Any]) -> None:
    assert setting.get("description", "").strip()


def test_extractor_fields() -> None:
    fields = {key: EXTRACTOR[key] for key in ("namespace", "pip_url", "executable")}
    assert fields == {
        "namespace": "tap_segment_webhook",
        "pip_url": "-e .",
        "executable": "tap-segment-webhook",
    }


def test_extractor_capabilities() -> None:
    assert set(EXTRACTOR["capabilities"]) == CAPABILITIES


def test_loader_fields() -> None:
    fields = {key: LOADER[key] for key in ("variant", "namespace", "pip_url")}
    assert fields == {
        "variant": "meltanolabs",
        "namespace": "target_postgres",
        "pip_url": "meltanolabs-target-postgres==0.8.1",
    }


def test_loader_settings_exist() -> None:
    target_about = about_settings("target-postgres")
    unknown = [s["name"] for s in LOADER["settings"] if s["name"] not in target_about]
    assert unknown == []


@pytest.mark.parametrize("field", HUB_FIELDS)
def test_hub_field_present(field: str) -> None:
    assert HUB.get(field)


def test_hub_maintenance_status() -> None:
    assert HUB["maintenance_status"] in MAINTENANCE_STATUSES


def test_hub_matches_meltano_yml() -> None:
    fields = ("name", "namespace", "executable", "capabilities", "settings")
    assert {key: HUB[key] for key in fields} == {key: EXTRACTOR[key] for key in fields}
