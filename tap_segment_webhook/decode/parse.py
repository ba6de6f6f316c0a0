"""Parse one JSON text into Python values without losing any number.

orjson is the fast path. It turns integers past 64 bits and long decimals into floats, and it
rejects NaN, lone surrogates and bytes that are not UTF-8. Texts that may contain any of those
go through the standard library parser instead, with `Decimal` for every number that a float
cannot hold exactly.
"""

from __future__ import annotations

import json
import typing as t
from decimal import Decimal, InvalidOperation

import orjson

# A float stores every decimal of up to 15 significant digits exactly. A run of 16 digits and
# dots may be a longer number, so such texts take the exact path. Long digit runs inside
# strings also match, which only costs speed. Mapping digits and dots to "0" and searching for
# sixteen of them is several times faster than the equivalent regular expression.
_DIGITS_AND_DOTS_TO_ZERO = bytes.maketrans(b"123456789.", b"0000000000")
_LONG_NUMBER_MARK = b"0" * 16
# orjson turns numbers below about 1e-308 into 0.0, so numbers with an exponent of -300 or
# below take the exact path too. Only a number token counts: one that follows a JSON
# delimiter, so ids inside strings such as "...3e-3333..." do not.
_MIN_FAST_EXPONENT_DIGITS = 3
_DIGITS = frozenset(b"0123456789")
_MANTISSA = frozenset(b"0123456789.")
_BEFORE_NUMBER = frozenset(b":,[")
_WHITESPACE = frozenset(b" \t\r\n")


def _has_tiny_number(raw: bytes) -> bool:
    for marker in (b"e-", b"E-"):
        position = raw.find(marker)
        while position != -1:
            end = position + 2
            while end < len(raw) and raw[end] in _DIGITS:
                end += 1
            exponent = raw[position + 2 : end].lstrip(b"0")
            large = len(exponent) > _MIN_FAST_EXPONENT_DIGITS or (
                len(exponent) == _MIN_FAST_EXPONENT_DIGITS and exponent[:1] >= b"3"
            )
            begin = position
            while begin > 0 and raw[begin - 1] in _MANTISSA:
                begin -= 1
            if large and begin < position:
                before = begin - 1
                if before >= 0 and raw[before] == ord("-"):
                    before -= 1
                while before >= 0 and raw[before] in _WHITESPACE:
                    before -= 1
                if before < 0 or raw[before] in _BEFORE_NUMBER:
                    return True
            position = raw.find(marker, position + 2)
    return False


# PostgreSQL NUMERIC holds up to 131072 digits before the decimal point and 16383 after it.
# Numbers outside that range are kept as their text, like NaN and Infinity.
_NUMERIC_MAX_INTEGER_DIGITS = 131072
_NUMERIC_MAX_FRACTION_DIGITS = 16383
# Python refuses to convert integer strings longer than this to int (sys.int_info).
_INT_TEXT_LIMIT = 4000
_NUL_ESCAPE = b"\\u0000"
_INT64_MAX = 2**63 - 1


class ParsedText(t.NamedTuple):
    """A parsed JSON value and what the text needed on the way."""

    value: t.Any
    # The value may contain NUL characters or lone surrogates that normalize must repair.
    needs_repair: bool
    # Bytes that were not UTF-8 and became U+FFFD.
    utf8_repairs: int


def _parse_decimal(text: str) -> Decimal | str:
    try:
        number = Decimal(text)
    except InvalidOperation:
        # The exponent is beyond what Decimal can represent, so neither can NUMERIC.
        return text
    exponent = number.as_tuple().exponent
    if number.adjusted() >= _NUMERIC_MAX_INTEGER_DIGITS or (
        isinstance(exponent, int) and -exponent > _NUMERIC_MAX_FRACTION_DIGITS
    ):
        return text
    return number


def _parse_int(text: str) -> int | Decimal | str:
    if len(text) > _INT_TEXT_LIMIT:
        return _parse_decimal(text)
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
    exact = _LONG_NUMBER_MARK in raw.translate(_DIGITS_AND_DOTS_TO_ZERO)
    if not exact and (b"e-" in raw or b"E-" in raw):
        exact = _has_tiny_number(raw)
    if not exact:
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
            parse_float=_parse_decimal,
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
