"""Repair strings that PostgreSQL and UTF-8 cannot store: NUL characters and lone surrogates."""

from __future__ import annotations

import re
import typing as t

# After JSON parsing, a valid surrogate pair is one character, so any surrogate left is lone.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"


def repair_string(text: str) -> tuple[str, int]:
    """Return `text` without NUL characters and with lone surrogates as U+FFFD, and the repair count."""
    repairs = 0
    if "\x00" in text:
        repairs += text.count("\x00")
        text = text.replace("\x00", "")
    text, replaced = _LONE_SURROGATE.subn(REPLACEMENT_CHARACTER, text)
    return text, repairs + replaced


def _escape_key(key: str) -> str:
    # Distinct keys stay distinct: each NUL and lone surrogate becomes its JSON escape as text.
    key = key.replace("\x00", "\\u0000")
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", key)


def repair_value(value: t.Any) -> tuple[t.Any, int]:
    """Repair every string in a JSON value, keys included, and count the repairs.

    A key that would become equal to another key of the same object after repair is written
    with its NUL characters and lone surrogates as escape text (`\\u0000`), so no value is lost.
    """
    if isinstance(value, str):
        return repair_string(value)
    if isinstance(value, list):
        total = 0
        items = []
        for item in value:
            repaired, count = repair_value(item)
            items.append(repaired)
            total += count
        return items, total
    if isinstance(value, dict):
        total = 0
        result: dict[str, t.Any] = {}
        for key, item in value.items():
            repaired_item, count = repair_value(item)
            total += count
            new_key, key_count = repair_string(key)
            if key_count and (new_key in value or new_key in result):
                new_key = _escape_key(key)
            total += key_count
            result[new_key] = repaired_item
        return result, total
    return value, 0
