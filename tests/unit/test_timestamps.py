"""Lenient timestamp parsing and RFC 3339 UTC output."""

from decimal import Decimal

import pytest

from tap_segment_webhook.normalize.timestamps import parse_timestamp

VALID = [
    ("2025-04-02T09:30:00Z", "2025-04-02T09:30:00Z"),
    ("2025-04-02T09:30:00", "2025-04-02T09:30:00Z"),
    ("2025-04-02T09:30:00.123Z", "2025-04-02T09:30:00.123Z"),
    ("2025-04-02T09:30:00.000Z", "2025-04-02T09:30:00Z"),
    ("2025-4-2T09:30:00.5Z", "2025-04-02T09:30:00.500Z"),
    ("2025-04-02 09:30:00+0200", "2025-04-02T07:30:00Z"),
    ("2025-04-02T09:30:00+02:00", "2025-04-02T07:30:00Z"),
    ("2025-04-02T09:30:00-05", "2025-04-02T14:30:00Z"),
    ("2025-04-02T09:30:00.123456789-07:00", "2025-04-02T16:30:00.123456Z"),
    ("2025-04-02T09:30:00.123456+00:00", "2025-04-02T09:30:00.123456Z"),
    ("2015-2-02T00:30:08.276Z", "2015-02-02T00:30:08.276Z"),
    ("2025-04-02", "2025-04-02T00:00:00Z"),
    ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    (1743586200, "2025-04-02T09:30:00Z"),
    (1743586200123, "2025-04-02T09:30:00.123Z"),
    (1743586200.5, "2025-04-02T09:30:00.500Z"),
    (Decimal("1743586200.25"), "2025-04-02T09:30:00.250Z"),
    ("1743586200", "2025-04-02T09:30:00Z"),
]

INVALID = ["2025-02-30T00:00:00Z", "", "not a time", "2025-13-01", "0001-01-01T00:00:00+01:00", None, True, [], {}]


@pytest.mark.parametrize(("value", "expected"), VALID)
def test_parse_timestamp_valid(value: object, expected: str) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("value", INVALID)
def test_parse_timestamp_invalid(value: object) -> None:
    assert parse_timestamp(value) is None
