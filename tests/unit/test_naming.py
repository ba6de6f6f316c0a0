"""Column naming: snake_case parts, joins, identifier limits and hash suffixes."""

import re

import pytest

from tap_segment_webhook.shape.naming import MAX_NAME_BYTES, fit_name, name_part, snake_case, with_hash_suffix

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")

SNAKE_CASES = [
    ("userId", "user_id"),
    ("userID", "user_id"),
    ("pageURL", "page_url"),
    ("HTTPServer", "httpserver"),
    ("Order Completed", "order_completed"),
    ("iPhone7,2", "i_phone7_2"),
    ("address2City", "address2_city"),
    ("a__b", "a_b"),
    ("Café Visited", "caf_visited"),
    ("utm.medium", "utm_medium"),
    ("visit-count", "visit_count"),
    ("_private", "_private"),
    ("__proto__", "_proto"),
    ("⭐level", "level"),
    ("名前", ""),
    ("", ""),
    ("originalTimestamp", "original_timestamp"),
    ("userAgentData", "user_agent_data"),
    ("utm_source", "utm_source"),
    ("total billed", "total_billed"),
    ("SKU", "sku"),
    ("ThemeName", "theme_name"),
    ("  padded  ", "padded"),
]


@pytest.mark.parametrize(("key", "expected"), SNAKE_CASES)
def test_snake_case_table(key: str, expected: str) -> None:
    assert snake_case(key) == expected


def test_name_part_hashes_unusable_keys() -> None:
    empty = name_part("")
    japanese = name_part("名前")
    assert empty.startswith("key_")
    assert japanese.startswith("key_")
    assert empty != japanese
    assert name_part("名前") == japanese


def test_fit_name_prefixes_leading_digit() -> None:
    assert fit_name("123abc", ("123abc",)) == "_123abc"


def test_fit_name_strips_sdc_prefix() -> None:
    assert fit_name("_sdc_deleted_at", ("_sdc_deleted_at",)) == "sdc_deleted_at"


def test_fit_name_cuts_long_names_distinctly() -> None:
    prefix = "traits__" + "x" * 70
    first = fit_name(prefix + "_one", ("traits", "x" * 70 + "_one"))
    second = fit_name(prefix + "_two", ("traits", "x" * 70 + "_two"))
    assert len(first.encode()) <= MAX_NAME_BYTES
    assert len(second.encode()) <= MAX_NAME_BYTES
    assert first != second
    assert IDENTIFIER.match(first)


def test_hash_suffix_is_stable_and_short() -> None:
    first = with_hash_suffix("properties__theme_name", ("properties", "ThemeName"))
    again = with_hash_suffix("properties__theme_name", ("properties", "ThemeName"))
    other = with_hash_suffix("properties__theme_name", ("properties", "theme_name"))
    assert first == again
    assert first != other
    assert first.startswith("properties__theme_name_")
    assert len(with_hash_suffix("y" * 63, ("k",)).encode()) <= MAX_NAME_BYTES
