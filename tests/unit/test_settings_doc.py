"""The README's settings table is generated from the tap's own settings schema and must match it.

The SDK adds its built-in settings (stream maps, flattening) to the class schema at run time,
so the table is built from the tap's own settings list."""

from pathlib import Path

from tap_segment_webhook.report.settings_doc import END_MARKER, START_MARKER, settings_table
from tap_segment_webhook.settings import SETTINGS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_match_schema() -> None:
    document = README.read_text(encoding="utf-8")
    section = document[document.index(START_MARKER) + len(START_MARKER) : document.index(END_MARKER)]
    expected = settings_table(SETTINGS.to_dict())
    assert section.strip() == expected.strip(), (
        "README settings are out of date: run python -m tap_segment_webhook.report.settings_doc --write README.md"
    )


def test_every_setting_documented() -> None:
    for name, schema in SETTINGS.to_dict()["properties"].items():
        assert schema.get("description"), f"setting '{name}' has no description"
        assert schema.get("examples"), f"setting '{name}' has no example"
