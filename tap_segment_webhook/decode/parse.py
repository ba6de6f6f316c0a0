"""Parse one JSON text into Python values without losing any number.

orjson is the fast path. It turns integers past 64 bits and long decimals into floats, and it
rejects NaN, lone surrogates and bytes that are not UTF-8. Texts that may contain any of those
go through the standard library parser instead, with `Decimal` for every number that a float
cannot hold exactly.
"""

from __future__ import annotations

import json
import re
import typing as t
from decimal import Decimal

import orjson

# A float holds every decimal of up to 15 significant digits exactly. A run of 16 digits and
# dots may be a longer number, so such texts take the exact path. Long digit runs inside
# strings also match, which only costs speed.
_LONG_NUMBER = re.compile(rb"[0-9.]{16}")
_NUL_ESCAPE = b"\\u0000"
_INT64_MAX = 2**63 - 1


class ParsedText(t.NamedTuple):
    """A parsed JSON value and what the text needed on the way."""

    value: t.Any
    # The value may contain NUL characters or lone surrogates that normalize must repair.
    needs_repair: bool
    # Bytes that were not UTF-8 and became U+FFFD.
    utf8_repairs: int


def _parse_int(text: str) -> int | Decimal:
    number = int(text)
    if -_INT64_MAX - 1 <= number <= _INT64_MAX:
        return number
    return Decimal(text)


def _keep_constant(name: str) -> str:
    # NaN, Infinity and -Infinity are not JSON numbers, so they are kept as their text.
    return name


def _decode_utf8(raw: bytes) -> tuple[str, int]:
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        return text, text.count("\ufffd") - raw.count("\ufffd".encode())


def parse_json(raw: bytes) -> ParsedText:
    """Parse one JSON text, exactly; raise `ValueError` when it is not JSON."""
    if not _LONG_NUMBER.search(raw):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            return ParsedText(value, _NUL_ESCAPE in raw, 0)
    text, utf8_repairs = _decode_utf8(raw)
    try:
        value = json.loads(
            text,
            parse_float=Decimal,
            parse_int=_parse_int,
            parse_constant=_keep_constant,
        )
    except json.JSONDecodeError as error:
        raise ValueError(str(error)) from error
    except RecursionError as error:
        msg = "JSON nested too deeply to parse"
        raise ValueError(msg) from error
    return ParsedText(value, True, utf8_repairs)


def default_for_orjson(value: t.Any) -> t.Any:
    """Serialize the values orjson does not know: exact numbers as JSON number text."""
    if isinstance(value, Decimal):
        if value.is_finite():
            return orjson.Fragment(str(value).encode())
        return str(value)
    if isinstance(value, int):
        return orjson.Fragment(str(value).encode())
    msg = f"Object of type {type(value).__name__} is not JSON serializable"
    raise TypeError(msg)


def dumps(value: t.Any, *, sort_keys: bool = False) -> bytes:
    """Serialize to compact JSON bytes, keeping exact numbers exact."""
    option = orjson.OPT_SORT_KEYS if sort_keys else 0
    return orjson.dumps(value, default=default_for_orjson, option=option)
