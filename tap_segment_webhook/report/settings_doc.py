"""Render the settings table of the README from the tap's config schema.

`python -m tap_segment_webhook.report.settings_doc --write README.md` rewrites the table between
the README's settings markers; a test fails when the README and the schema drift apart.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing as t

START_MARKER = "<!-- settings:start -->"
END_MARKER = "<!-- settings:end -->"


def _type_name(schema: dict[str, t.Any]) -> str:
    declared = schema.get("type", "any")
    types = [declared] if isinstance(declared, str) else [name for name in declared if name != "null"]
    name = "/".join(types)
    if name == "array":
        name = f"array of {_type_name(schema.get('items', {}))}"
    if "enum" in schema:
        name += " (" + ", ".join(f"`{value}`" for value in schema["enum"] if value is not None) + ")"
    return name


def _cell(value: t.Any) -> str:
    if value is None:
        return "not set"
    return "`" + json.dumps(value) + "`"


def settings_table(config_schema: dict[str, t.Any]) -> str:
    """Return a Markdown table of every setting: name, type, default, example, description."""
    lines = ["| setting | type | default | example | description |", "| --- | --- | --- | --- | --- |"]
    for name, schema in config_schema["properties"].items():
        examples = schema.get("examples") or [None]
        description = schema.get("description", "").replace("|", "\\|").replace("\n", " ")
        if schema.get("secret"):
            description += " Secret: never logged."
        lines.append(
            f"| `{name}` | {_type_name(schema)} | {_cell(schema.get('default'))} | {_cell(examples[0])} | {description} |"
        )
    return "\n".join(lines) + "\n"


def replace_section(document: str, table: str) -> str:
    """Return the document with the text between the settings markers replaced by `table`."""
    start = document.index(START_MARKER) + len(START_MARKER)
    end = document.index(END_MARKER)
    return document[:start] + "\n" + table + document[end:]


def main(argv: list[str] | None = None) -> int:
    from tap_segment_webhook.settings import SETTINGS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="README", help="rewrite the settings section of this file")
    arguments = parser.parse_args(argv)
    table = settings_table(SETTINGS.to_dict())
    if arguments.write:
        with open(arguments.write, encoding="utf-8") as handle:
            document = handle.read()
        with open(arguments.write, "w", encoding="utf-8") as handle:
            handle.write(replace_section(document, table))
    else:
        sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
