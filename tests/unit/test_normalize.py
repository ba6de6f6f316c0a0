"""Normalizing: envelopes, routing, message ids, secrets and string repairs."""

import pytest

from tap_segment_webhook.normalize.integrations import is_enabled
from tap_segment_webhook.normalize.messages import Message, Reject, derive_message_id, expand
from tap_segment_webhook.normalize.strings import repair_value


def _messages(value: object, needs_repair: bool = False) -> list:
    return list(expand(value, needs_repair=needs_repair))


def test_batch_envelope_merges_context() -> None:
    envelope = {
        "batch": [
            {"type": "track", "messageId": "1", "context": {"ip": "198.51.100.20"}},
            {"type": "identify", "messageId": "2"},
        ],
        "context": {"ip": "198.51.100.1", "library": {"name": "lib"}},
        "integrations": {"All": True},
        "writeKey": "secret",
        "sentAt": "2025-01-01T00:00:00Z",
    }
    first, second = _messages(envelope)
    assert first.data["context"] == {"ip": "198.51.100.20", "library": {"name": "lib"}}
    assert second.data["context"] == {"ip": "198.51.100.1", "library": {"name": "lib"}}
    assert second.data["integrations"] == {"All": True}
    assert second.data["sentAt"] == "2025-01-01T00:00:00Z"
    assert "writeKey" not in second.data


def test_empty_batch_gives_nothing() -> None:
    assert _messages({"batch": []}) == []


def test_message_with_batch_property_is_not_envelope() -> None:
    (message,) = _messages({"type": "track", "messageId": "1", "batch": []})
    assert isinstance(message, Message)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"userId": "u"}, "missing_type"),
        ({"type": 5}, "invalid_type"),
        ({"type": "delete", "userId": "u"}, "unknown_type"),
        ([1, 2, 3], "not_an_object"),
        ("text", "not_an_object"),
        (None, "not_an_object"),
    ],
)
def test_rejects_by_reason(value: object, reason: str) -> None:
    (item,) = _messages(value)
    assert isinstance(item, Reject)
    assert item.reason == reason


def test_mixed_array_rejects_only_non_objects() -> None:
    items = _messages([{"type": "track", "messageId": "1"}, 7])
    assert isinstance(items[0], Message)
    assert isinstance(items[1], Reject)


@pytest.mark.parametrize(("raw_type", "stream"), [("Track", "track"), (" identify ", "identify"), ("PAGE", "page")])
def test_type_is_trimmed_and_lowered(raw_type: str, stream: str) -> None:
    (message,) = _messages({"type": raw_type, "messageId": "1"})
    assert message.stream == stream


def test_message_id_is_trimmed() -> None:
    (message,) = _messages({"type": "track", "messageId": "  rt-6  "})
    assert message.data["messageId"] == "rt-6"


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_missing_message_id_is_derived(missing: object) -> None:
    (message,) = _messages({"type": "track", "messageId": missing, "event": "E"})
    again = derive_message_id({"type": "track", "messageId": "x", "event": "E"})
    assert message.data["messageId"].startswith("gen-")
    assert message.data["messageId"] == again


def test_derived_id_ignores_key_order() -> None:
    assert derive_message_id({"a": 1, "b": 2}) == derive_message_id({"b": 2, "a": 1})


def test_repair_value_removes_nul_everywhere() -> None:
    value, repairs = repair_value({"k\x00ey": ["a\x00", {"x": "\ud800"}], "id": "\x00"})
    assert value == {"key": ["a", {"x": "\ufffd"}], "id": ""}
    assert repairs == 4


def test_repair_value_keeps_colliding_keys() -> None:
    value, _ = repair_value({"key": 1, "k\x00ey": 2})
    assert value["key"] == 1
    assert value["k\\u0000ey"] == 2


def test_nul_only_id_is_derived() -> None:
    (message,) = _messages({"type": "track", "messageId": "\x00", "event": "E"}, needs_repair=True)
    assert message.data["messageId"].startswith("gen-")
    assert message.repairs == 1


@pytest.mark.parametrize(
    ("integrations", "enabled"),
    [
        (None, True),
        ({}, True),
        ({"All": True}, True),
        ({"All": False}, False),
        ({"All": False, "Stitch": True}, True),
        ({"All": False, "stitch": True}, True),
        ({"Stitch": False}, False),
        ({"All": True, "Stitch": False}, False),
        ({"All": False, "Stitch": {"option": 1}}, True),
        ({"Mixpanel": False}, True),
        ("not an object", True),
    ],
)
def test_integrations_filter(integrations: object, enabled: bool) -> None:
    assert is_enabled(integrations, "Stitch") is enabled


def test_repair_value_keeps_keys_equal_after_repair() -> None:
    value, _ = repair_value({"a\x00b": "one", "ab\x00": "two"})
    assert sorted(value.values()) == ["one", "two"]


def test_write_key_spellings_removed() -> None:
    (message,) = _messages({"type": "track", "messageId": "1", "write_key": "a", "context": {"writeKey": "b"}})
    assert "write_key" not in message.data
    assert "writeKey" not in message.data["context"]


def test_repair_keeps_keys_equal_after_surrogate_repair() -> None:
    value, _ = repair_value({"\ud800": "one", "\udc00": "two"})
    assert sorted(value.values()) == ["one", "two"]
