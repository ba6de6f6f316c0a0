"""Property-based test: arbitrary JSON messages never break the replay pipeline's output contract."""

from __future__ import annotations

import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_segment_webhook.sync import SyncDriver
from tap_segment_webhook.tap import TapSegmentWebhook

COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_COLUMN_BYTES = 63
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or RFC3339.match(value) is not None


# Characters that break naive pipelines, mixed into otherwise arbitrary text.
ODD_CHARACTERS = ["\x00", "\ud800", "\udfff", "\ufeff", "\u200b", "\u0301", "é", "🙂", "名", "\n", ".", "-", " ", "_"]
text = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(ODD_CHARACTERS)),
    max_size=12,
)
keys = st.one_of(
    text,
    st.sampled_from(
        ["userId", "user_id", "messageId", "type", "context", "properties", "__proto__", "a__b", "", "_sdc_x", "A" * 70]
    ),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**100), max_value=2**100),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
)
json_values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=12,
)
valid_types = st.sampled_from(["track", "identify", "page", "screen", "group", "alias", " Track ", "PAGE"])
invalid_types = st.one_of(st.sampled_from(["delete", "", "tracks"]), st.integers(), st.none(), text)
timestamps = st.one_of(
    st.sampled_from(["2025-04-02T09:30:00Z", "2025-04-02 09:30:00+0200", "2025-02-30T00:00:00Z", "", "soon"]),
    st.integers(min_value=-(10**15), max_value=10**15),
    json_values,
)


@st.composite
def messages(draw: st.DrawFn) -> Any:
    """Draw a Segment-like message, sometimes not a message at all."""
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return draw(json_values)
    message: dict[str, Any] = draw(st.dictionaries(keys, json_values, max_size=3))
    # Four messages in five get a valid type, so most examples reach the shaping stage.
    kind = draw(st.integers(min_value=0, max_value=9))
    if kind < 8:
        message["type"] = draw(valid_types)
    elif kind == 8:
        message["type"] = draw(invalid_types)
    if draw(st.booleans()):
        message["messageId"] = draw(st.one_of(text, st.integers(), st.sampled_from(["dup", " dup ", "\x00"])))
    for field in ("properties", "traits", "context"):
        if draw(st.booleans()):
            message[field] = draw(json_values)
    for field in ("timestamp", "sentAt", "receivedAt"):
        if draw(st.booleans()):
            message[field] = draw(timestamps)
    return message


def _run_tap(folder: Path, source: Path, column_style: str) -> list[dict[str, Any]]:
    config = {
        "input_paths": [str(source)],
        "rejects_path": str(folder / "rejects.ndjson"),
        "column_style": column_style,
    }
    tap = TapSegmentWebhook(config=config, parse_env_config=False)
    output = io.BytesIO()
    SyncDriver(tap, output=output).run()
    return [json.loads(line) for line in output.getvalue().splitlines()]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (key, *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _without_time_extracted(output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in message.items() if k != "time_extracted"} for message in output]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(messages(), min_size=1, max_size=6),
    column_style=st.sampled_from(["flat", "nested"]),
)
def test_replay_output_contract(lines: list[Any], column_style: str) -> None:
    with tempfile.TemporaryDirectory(prefix="properties-") as temp:
        folder = Path(temp)
        source = folder / "input.ndjson"
        # ensure_ascii writes lone surrogates as \ud800 escapes, which JSON allows.
        source.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="ascii")

        output = _run_tap(folder, source, column_style)
        again = _run_tap(folder, source, column_style)

    validators: dict[str, jsonschema.Draft7Validator] = {}
    for message in output:
        assert [s for s in _strings(message) if "\x00" in s] == []
        if message["type"] == "SCHEMA":
            for name in message["schema"]["properties"]:
                assert COLUMN_NAME.match(name), name
                assert len(name.encode("utf-8")) <= MAX_COLUMN_BYTES, name
            validators[message["stream"]] = jsonschema.Draft7Validator(
                message["schema"], format_checker=FORMAT_CHECKER
            )
        elif message["type"] == "RECORD":
            assert message["stream"] in validators
            errors = [error.message for error in validators[message["stream"]].iter_errors(message["record"])]
            assert errors == [], message["record"]

    assert _without_time_extracted(again) == _without_time_extracted(output)
