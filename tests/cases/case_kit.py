"""Run the installed tap over hard-case inputs and inspect its output, rejects and report."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import jsonschema

from helpers import TapResult, load, run_tap
from helpers.postgres import Postgres

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "cases"
COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_COLUMN_BYTES = 63
GENERATED_ID = re.compile(r"^gen-[0-9a-f]{32}$")

# RFC 3339 date-time with a mandatory offset, as JSON Schema's "date-time" format requires.
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def is_rfc3339(value: object) -> bool:
    """Check a string against RFC 3339, calendar included (no February 30)."""
    if not isinstance(value, str):
        return True
    match = _RFC3339.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        dt.datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return False
    return second <= 60


FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("date-time")(is_rfc3339)


def case_file(case: str, name: str) -> Path:
    return CASES / case / name


def write_lines(path: Path, messages: list[Any]) -> Path:
    """Write each value as one JSON line. A string is written unchanged, so a test can write an invalid line."""
    lines = [m if isinstance(m, str) else json.dumps(m) for m in messages]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_gzip(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data))
    return path


@dataclass
class Run:
    """One tap process over replay inputs, with the rejects file and report it wrote."""

    result: TapResult
    rejects: list[dict[str, Any]]
    report: dict[str, Any]
    rejects_text: str
    report_text: str

    @property
    def stderr(self) -> str:
        return self.result.stderr

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return self.result.records(stream)

    def by_id(self, stream: str) -> dict[str, dict[str, Any]]:
        return {record["message_id"]: record for record in self.records(stream)}

    def ids(self, stream: str) -> list[str]:
        return [record["message_id"] for record in self.records(stream)]

    def columns(self, stream: str) -> dict[str, Any]:
        """Return the properties of the last SCHEMA of `stream`."""
        schemas = self.result.schemas(stream)
        return schemas[-1]["schema"]["properties"] if schemas else {}

    def stream_report(self, stream: str) -> dict[str, Any]:
        return self.report.get("streams", {}).get(stream, {})

    def streams_with_records(self) -> set[str]:
        return {m["stream"] for m in self.result.of_type("RECORD")}


def replay(inputs: list[Path | str], folder: Path, *, state: dict | None = None,
           catalog: dict | None = None, **settings: Any) -> Run:
    """Run the tap over `inputs`, with the rejects file and report in `folder`, and require exit 0."""
    folder.mkdir(parents=True, exist_ok=True)
    rejects_path = folder / "rejects.ndjson"
    report_path = folder / "report.json"
    for path in (rejects_path, report_path):
        path.unlink(missing_ok=True)
    config = {
        "input_paths": [str(path) for path in inputs],
        "rejects_path": str(rejects_path),
        "report_path": str(report_path),
        **settings,
    }
    result = run_tap(config, state=state, catalog=catalog).check()
    rejects_text = rejects_path.read_text(encoding="utf-8") if rejects_path.exists() else ""
    report_text = report_path.read_text(encoding="utf-8") if report_path.exists() else "{}"
    rejects = [json.loads(line) for line in rejects_text.splitlines() if line.strip()]
    return Run(result, rejects, json.loads(report_text), rejects_text, report_text)


def load_into(postgres: Postgres, schema: str, inputs: list[Path | str], folder: Path, *,
              state: dict | None = None, catalog: dict | None = None, **settings: Any) -> dict | None:
    """Pipe the tap over `inputs` into target-postgres, into `schema`, and return the target's state."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "input_paths": [str(path) for path in inputs],
        "rejects_path": str(folder / "load-rejects.ndjson"),
        **settings,
    }
    return load(config, schema, state=state, catalog=catalog, sqlalchemy_url=postgres.sqlalchemy_url)


def discover_catalog(inputs: list[Path | str], *, select: tuple[str, ...] = ()) -> dict:
    """Return the `--discover` catalog of `inputs`, with the streams in `select` also selected."""
    result = run_tap({"input_paths": [str(path) for path in inputs]}, args=["--discover"]).check()
    catalog = json.loads(result.stdout)
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] in select:
            for metadata in entry["metadata"]:
                if metadata["breadcrumb"] == []:
                    metadata["metadata"]["selected"] = True
    return catalog


def walk_strings(value: Any) -> Iterator[str]:
    """Yield every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_strings(item)


def schema_violations(messages: list[dict[str, Any]]) -> list[str]:
    """Validate each RECORD against the last SCHEMA of its stream before it, and return the errors."""
    validators: dict[str, jsonschema.Draft7Validator] = {}
    errors = []
    for index, message in enumerate(messages):
        if message["type"] == "SCHEMA":
            validators[message["stream"]] = jsonschema.Draft7Validator(
                message["schema"], format_checker=FORMAT_CHECKER
            )
        elif message["type"] == "RECORD":
            validator = validators.get(message["stream"])
            if validator is None:
                errors.append(f"message {index}: RECORD of {message['stream']} before any SCHEMA")
                continue
            for error in validator.iter_errors(message["record"]):
                errors.append(f"message {index} ({message['record'].get('message_id')}): {error.message}")
    return errors


def bad_column_names(messages: list[dict[str, Any]]) -> list[str]:
    """Return the SCHEMA property names that are not valid, short PostgreSQL identifiers."""
    bad = set()
    for message in messages:
        if message["type"] == "SCHEMA":
            for name in message["schema"]["properties"]:
                if not COLUMN_NAME.match(name) or len(name.encode("utf-8")) > MAX_COLUMN_BYTES:
                    bad.add(name)
    return sorted(bad)


def retyped_columns(messages: list[dict[str, Any]]) -> list[str]:
    """Return the columns whose declared type changed between SCHEMA messages of one stream."""
    seen: dict[tuple[str, str], Any] = {}
    changed = []
    for message in messages:
        if message["type"] != "SCHEMA":
            continue
        for name, definition in message["schema"]["properties"].items():
            key = (message["stream"], name)
            declared = (definition.get("type"), definition.get("format"))
            if key in seen and seen[key] != declared:
                changed.append(f"{key}: {seen[key]} -> {declared}")
            seen.setdefault(key, declared)
    return changed


def copy_case(case: str, folder: Path) -> Path:
    """Copy one case's input folder into `folder` and return the copy."""
    target = folder / case
    shutil.copytree(CASES / case, target)
    return target
