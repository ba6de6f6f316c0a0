"""Turn decoded JSON values into routed Segment messages, or rejects.

A value is a batch envelope (`{"batch": [...]}`), an array of messages, or one message.
Envelope `context` and `integrations` are merged into each item, and the item's own keys win.
"""

from __future__ import annotations

import dataclasses
import hashlib
import typing as t

from tap_segment_webhook.decode.parse import dumps
from tap_segment_webhook.normalize.strings import repair_string, repair_value

STREAM_TYPES = frozenset({"alias", "group", "identify", "page", "screen", "track"})
GENERATED_ID_PREFIX = "gen-"
# Keys removed from every message and from its `context` because they are credentials:
# the spellings of Segment's writeKey that libraries and hand-written clients use.
SECRET_KEYS = ("writeKey", "write_key", "WriteKey", "writekey", "WRITE_KEY", "write-key", "Write-Key")
_ENVELOPE_MERGED_KEYS = ("context", "integrations")


@dataclasses.dataclass(slots=True)
class Message:
    """One Segment message routed to its stream, ready to shape."""

    stream: str
    data: dict[str, t.Any]
    repairs: int = 0


@dataclasses.dataclass(slots=True)
class Reject:
    """A value that cannot become a record, with a reason code and its JSON text."""

    reason: str
    detail: str
    raw: bytes


Normalized = t.Union[Message, Reject]


def derive_message_id(data: dict[str, t.Any]) -> str:
    """Return `gen-` and a hash of the message's canonical JSON, stable across replays."""
    canonical = dumps({k: v for k, v in data.items() if k != "messageId"}, sort_keys=True)
    return GENERATED_ID_PREFIX + hashlib.sha256(canonical).hexdigest()[:32]


def _route(data: dict[str, t.Any]) -> Reject | str:
    kind = data.get("type")
    if kind is None:
        return Reject("missing_type", "the message has no 'type'", dumps(data))
    if not isinstance(kind, str):
        return Reject("invalid_type", f"'type' is a {type(kind).__name__}, not a string", dumps(data))
    stream = kind.strip().lower()
    if stream not in STREAM_TYPES:
        return Reject("unknown_type", f"unknown message type '{kind}'", dumps(data))
    return stream


def _message_id(data: dict[str, t.Any]) -> str:
    value = data.get("messageId")
    if isinstance(value, str):
        value = value.strip()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    elif value is not None:
        value = dumps(value).decode()
    return value or derive_message_id(data)


def normalize_message(data: dict[str, t.Any], *, needs_repair: bool) -> Normalized:
    """Check, clean and route one message object."""
    context = data.get("context")
    for key in SECRET_KEYS:
        if key in data:
            del data[key]
        if type(context) is dict and key in context:
            del context[key]
    repairs = 0
    if needs_repair:
        data, repairs = repair_value(data)
    routed = _route(data)
    if isinstance(routed, Reject):
        return routed
    data["type"] = routed
    data["messageId"] = _message_id(data)
    return Message(routed, data, repairs)


def _merge_envelope(item: dict[str, t.Any], envelope: dict[str, t.Any]) -> dict[str, t.Any]:
    for key in _ENVELOPE_MERGED_KEYS:
        shared = envelope.get(key)
        if not isinstance(shared, dict):
            continue
        own = item.get(key)
        if own is None:
            item[key] = dict(shared)
        elif isinstance(own, dict):
            item[key] = {**shared, **own}
    sent_at = envelope.get("sentAt")
    if sent_at is not None and "sentAt" not in item:
        item["sentAt"] = sent_at
    return item


def _not_an_object(value: t.Any) -> Reject:
    return Reject("not_an_object", f"expected a JSON object, got {type(value).__name__}", dumps(value))


def _expand_items(
    items: list[t.Any], envelope: dict[str, t.Any] | None, needs_repair: bool
) -> t.Iterator[Normalized]:
    if items and not any(isinstance(item, dict) for item in items):
        yield _not_an_object(items)
        return
    for item in items:
        if not isinstance(item, dict):
            yield _not_an_object(item)
            continue
        if envelope is not None:
            item = _merge_envelope(item, envelope)
        yield normalize_message(item, needs_repair=needs_repair)


def is_batch_envelope(value: dict[str, t.Any]) -> bool:
    """Tell a `{"batch": [...]}` envelope from a message that has a `batch` key of its own."""
    return isinstance(value.get("batch"), list) and "type" not in value


def expand(value: t.Any, *, needs_repair: bool = False) -> t.Iterator[Normalized]:
    """Yield the messages and rejects contained in one decoded JSON value."""
    if isinstance(value, dict):
        if is_batch_envelope(value):
            envelope = value
            if needs_repair:
                envelope, _ = repair_value({k: v for k, v in value.items() if k != "batch"})
            yield from _expand_items(value["batch"], envelope, needs_repair)
        else:
            yield normalize_message(value, needs_repair=needs_repair)
    elif isinstance(value, list):
        yield from _expand_items(value, None, needs_repair)
    else:
        yield _not_an_object(value)


__all__ = ["Message", "Reject", "expand", "derive_message_id", "repair_string"]
