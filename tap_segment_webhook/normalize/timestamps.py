"""Lenient timestamp parsing with RFC 3339 UTC output.

Offsets may be `Z`, `+hh:mm`, `+hhmm` or `+hh`, and no offset means UTC. Fractions may have 0
to 9 digits and are kept to the microsecond. A space may replace `T`, and month, day and hour
may be unpadded. Epoch seconds or milliseconds are accepted as JSON numbers or digit strings.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

_ISO = re.compile(
    r"^\s*(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[Tt ](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?"
    r"\s*(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
_EPOCH_TEXT = re.compile(r"^\s*-?\d{9,13}(?:\.\d+)?\s*$")
# Epoch values at or above this are milliseconds: 1e11 seconds is the year 5138.
_MILLISECONDS_FROM = 100_000_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def format_utc(moment: dt.datetime) -> str:
    """Render an aware datetime as RFC 3339 UTC ending in `Z`, with milli- or microseconds when set."""
    moment = moment.astimezone(dt.timezone.utc)
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    micro = moment.microsecond
    if micro == 0:
        return text + "Z"
    if micro % 1000 == 0:
        return f"{text}.{micro // 1000:03d}Z"
    return f"{text}.{micro:06d}Z"


def _parse_offset(zone: str | None) -> dt.timezone:
    if zone is None or zone in ("Z", "z"):
        return dt.timezone.utc
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4] or 0)
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _from_epoch(number: float | int | Decimal) -> dt.datetime | None:
    value = Decimal(str(number)) if isinstance(number, float) else Decimal(number)
    if abs(value) >= _MILLISECONDS_FROM:
        value = value / 1000
    try:
        seconds = int(value)
        micro = int((value - seconds) * 1_000_000)
        return _EPOCH + dt.timedelta(seconds=seconds, microseconds=micro)
    except (OverflowError, ArithmeticError):
        return None


_fromisoformat = dt.datetime.fromisoformat


def parse_timestamp_text(value: str) -> str | None:
    """Return a timestamp string as RFC 3339 UTC, or None; the fast path for string values."""
    if len(value) == 24 and value[23] == "Z" and value[19] == "." and value[10] == "T":
        # The millisecond form that Segment and JavaScript clients send.
        try:
            _fromisoformat(value[:23])
        except ValueError:
            pass
        else:
            return value if value[20:23] != "000" else value[:19] + "Z"
    return parse_timestamp(value)


def parse_timestamp(value: object) -> str | None:
    """Return `value` as an RFC 3339 UTC string, or None when it is not a valid timestamp."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        if isinstance(value, float) and value != value:
            return None
        moment = _from_epoch(value)
        return format_utc(moment) if moment is not None else None
    if not isinstance(value, str):
        return None
    match = _ISO.match(value)
    if match is None:
        if _EPOCH_TEXT.match(value):
            moment = _from_epoch(Decimal(value.strip()))
            return format_utc(moment) if moment is not None else None
        return None
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    try:
        moment = dt.datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int(fraction),
            tzinfo=_parse_offset(match["zone"]),
        )
        return format_utc(moment)
    except (ValueError, OverflowError):
        return None
