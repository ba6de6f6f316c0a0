"""Shaping: flattening, types, type splits, the depth limit, the budget and nested style."""

from decimal import Decimal

import pytest

from tap_segment_webhook.shape.columns import OVERFLOW_COLUMN, column_type_from_schema
from tap_segment_webhook.shape.shaper import NESTED, Shaper
from tap_segment_webhook.streams import build_columns


def _shaper(stream: str = "track", *, max_columns: int = 1000, max_depth: int = 10, style: str = "flat") -> Shaper:
    return Shaper(build_columns(stream, max_columns=max_columns), column_style=style, max_depth=max_depth)


def _types(shaper: Shaper) -> dict[str, str]:
    return {name: column.type for name, column in shaper.columns.columns.items()}


def test_flatten_keeps_parent_prefix() -> None:
    shaper = _shaper()
    record = shaper.shape({"messageId": "1", "context": {"page": {"url": "u"}}, "properties": {"orderId": "o"}})
    assert record == {"message_id": "1", "context__page__url": "u", "properties__order_id": "o"}


def test_payload_keys_never_take_envelope_columns() -> None:
    shaper = _shaper()
    record = shaper.shape({"messageId": "1", "userId": "real", "user_id": "spoof"})
    assert record["user_id"] == "real"
    assert "spoof" in record.values()
    assert [name for name, value in record.items() if value == "spoof"][0].startswith("user_id_")


@pytest.mark.parametrize(
    ("value", "column_type"),
    [(True, "boolean"), (3, "number"), (3.5, "number"), (Decimal("1e400"), "number"), ("x", "string")],
)
def test_scalar_column_types(value: object, column_type: str) -> None:
    shaper = _shaper()
    shaper.shape({"messageId": "1", "properties": {"v": value}})
    assert _types(shaper)["properties__v"] == column_type


def test_arrays_and_empty_objects_are_json_text() -> None:
    shaper = _shaper()
    record = shaper.shape({"messageId": "1", "properties": {"tags": ["a", 1], "empty": {}, "none": []}})
    assert record["properties__tags"] == '["a",1]'
    assert record["properties__empty"] == "{}"
    assert record["properties__none"] == "[]"


def test_null_creates_no_column() -> None:
    shaper = _shaper()
    shaper.shape({"messageId": "1", "properties": {"note": None, "meta": {"a": None}}})
    assert not any(name.startswith("properties") for name in _types(shaper))


def test_type_split_sibling_columns() -> None:
    shaper = _shaper()
    records = [
        shaper.shape({"messageId": "1", "properties": {"amount": 120}}),
        shaper.shape({"messageId": "2", "properties": {"amount": "unknown"}}),
        shaper.shape({"messageId": "3", "properties": {"amount": True}}),
    ]
    assert records[0]["properties__amount"] == 120
    assert records[1]["properties__amount__string"] == "unknown"
    assert records[2]["properties__amount__boolean"] is True
    assert shaper.columns.type_splits == 2


def test_numbers_fit_string_columns_as_text() -> None:
    shaper = _shaper()
    shaper.shape({"messageId": "1", "properties": {"code": "A1"}})
    record = shaper.shape({"messageId": "2", "properties": {"code": 12345678901234567890, "flag": "yes"}})
    second = shaper.shape({"messageId": "3", "properties": {"code": False}})
    assert record["properties__code"] == "12345678901234567890"
    assert second["properties__code"] == "false"
    assert shaper.columns.type_splits == 0


def test_timestamps_are_date_time_with_string_split() -> None:
    shaper = _shaper()
    good = shaper.shape({"messageId": "1", "timestamp": "2025-04-02 09:30:00+0200"})
    bad = shaper.shape({"messageId": "2", "timestamp": "not a time"})
    again = shaper.shape({"messageId": "3", "timestamp": "2025-04-02T09:30:00Z"})
    assert good["timestamp"] == "2025-04-02T07:30:00Z"
    assert bad == {"message_id": "2", "timestamp__string": "not a time"}
    assert again["timestamp"] == "2025-04-02T09:30:00Z"
    assert _types(shaper)["timestamp"] == "date-time"


def test_depth_limit_keeps_json_text() -> None:
    shaper = _shaper(max_depth=2)
    record = shaper.shape({"messageId": "1", "properties": {"a": {"b": {"c": 1}}}})
    assert record["properties__a"] == '{"b":{"c":1}}'


def test_budget_overflow_keeps_values() -> None:
    shaper = _shaper(max_columns=12)
    record = shaper.shape({"messageId": "1", "properties": {"a": 1, "b": 2, "c": 3, "d": 4}})
    assert record["properties__a"] == 1
    assert record["properties__b"] == 2
    assert record[OVERFLOW_COLUMN] == '{"properties.c":3,"properties.d":4}'
    assert shaper.columns.overflowed_keys >= 2


def test_schema_dirty_only_for_new_columns() -> None:
    shaper = _shaper()
    shaper.columns.schema_dirty = False
    shaper.shape({"messageId": "1", "properties": {"a": 1}})
    assert shaper.columns.schema_dirty
    shaper.columns.schema_dirty = False
    shaper.shape({"messageId": "2", "properties": {"a": 2}})
    assert not shaper.columns.schema_dirty


def test_nested_style_keeps_objects() -> None:
    shaper = _shaper(style=NESTED)
    record = shaper.shape({"messageId": "1", "properties": {"a": {"b": 1}}, "context": {}, "tags": [1]})
    assert record["properties"] == {"a": {"b": 1}}
    assert record["context"] == {}
    assert record["tags"] == "[1]"
    assert _types(shaper)["properties"] == "object"


def test_nested_style_splits_top_level_drift() -> None:
    shaper = _shaper(style=NESTED)
    shaper.shape({"messageId": "1", "properties": {"a": 1}})
    record = shaper.shape({"messageId": "2", "properties": "oops"})
    assert record["properties__string"] == "oops"


def test_columns_restore_from_state_keep_names() -> None:
    first = _shaper()
    first.shape({"messageId": "1", "properties": {"Email": "a", "email": "b"}})
    rows = first.columns.to_state()
    second = Shaper(build_columns("track", max_columns=1000, state_rows=rows))
    record = second.shape({"messageId": "2", "properties": {"email": "b"}})
    assert list(record) == ["message_id", [n for n in first.columns.columns if n.startswith("properties__email_")][0]]


def test_catalog_column_type_is_kept() -> None:
    catalog = {"properties": {"properties__amount": {"type": ["string", "null"]}}}
    shaper = Shaper(build_columns("track", max_columns=1000, catalog_schema=catalog))
    record = shaper.shape({"messageId": "1", "properties": {"amount": 5}})
    assert record["properties__amount"] == "5"


@pytest.mark.parametrize(
    ("schema", "column_type"),
    [
        ({"type": ["string", "null"], "format": "date-time"}, "date-time"),
        ({"type": ["integer", "null"]}, "number"),
        ({"type": "number"}, "number"),
        ({"type": ["boolean", "null"]}, "boolean"),
        ({"type": ["object", "null"]}, "object"),
        ({"type": ["string", "integer"]}, "string"),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "number"),
    ],
)
def test_column_type_from_schema(schema: dict, column_type: str) -> None:
    assert column_type_from_schema(schema) == column_type


def test_discovery_widens_instead_of_splitting() -> None:
    shaper = Shaper(build_columns("track", max_columns=1000, widen=True))
    shaper.shape({"messageId": "1", "properties": {"v": 1}})
    shaper.shape({"messageId": "2", "properties": {"v": "x"}})
    assert _types(shaper)["properties__v"] == "string"
    assert "properties__v__string" not in _types(shaper)


def test_segment_style_names() -> None:
    shaper = _shaper("identify", style="segment")
    record = shaper.shape(
        {
            "messageId": "1",
            "userId": "u",
            "context": {"page": {"url": "x"}, "traits": {"email": "c"}},
            "traits": {"email": "e", "address": {"city": "Berlin"}, "user_id": "spoof"},
        }
    )
    assert record == {
        "message_id": "1",
        "user_id": "u",
        "context_page_url": "x",
        "context_traits_email": "c",
        "email": "e",
        "address_city": "Berlin",
        "_user_id": "spoof",
    }


def test_endless_keys_keep_memory_bounded() -> None:
    shaper = _shaper(max_columns=20)
    for number in range(2000):
        shaper.shape({"messageId": str(number), "properties": {f"key{number}": number, f"empty{number}": {"x": None}}})
    assert len(shaper.columns.columns) <= 21
    assert shaper._cached_nodes <= 8 * 20


def test_overflow_name_reserved_for_payload() -> None:
    shaper = _shaper(max_columns=12)
    first = shaper.shape({"messageId": "1", "_overflow": "user-1", "properties": {"a": 1}})
    later = shaper.shape({"messageId": "2", "_overflow": "user-2", "properties": {"b": 2, "c": 3}})
    payload_column = [name for name, value in first.items() if value == "user-1"][0]
    assert payload_column.startswith("_overflow_")
    assert later[payload_column] == "user-2"
    assert later[OVERFLOW_COLUMN] == '{"properties.b":2,"properties.c":3}'
