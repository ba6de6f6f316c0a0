"""Tracking API semantics: what Segment's servers add to a message when they receive it.

Pure functions: the caller passes the receive time, the client address and the id source.
"""

from __future__ import annotations

import datetime as dt
import typing as t
import uuid

# Paths of Segment's Tracking API that carry one message, with the type that path implies.
# analytics.js uses the one-letter forms.
SINGLE_MESSAGE_PATHS: dict[str, str] = {
    "/v1/track": "track",
    "/v1/identify": "identify",
    "/v1/page": "page",
    "/v1/screen": "screen",
    "/v1/group": "group",
    "/v1/alias": "alias",
    "/v1/t": "track",
    "/v1/i": "identify",
    "/v1/p": "page",
    "/v1/s": "screen",
    "/v1/g": "group",
    "/v1/a": "alias",
}

# Paths that take `{"batch": [...]}`; `/v1/import` is the legacy name of `/v1/batch`.
BATCH_PATHS = frozenset({"/v1/batch", "/v1/import", "/v1/b"})

# Envelope keys of a batch body that apply to every item unless the item sets its own.
_ENVELOPE_KEYS = ("context", "integrations", "sentAt")


class InvalidItem(ValueError):
    """One message of a request cannot be used; `reason` is a snake_case code for the rejects file."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def is_tracking_path(path: str) -> bool:
    """Return True for a Tracking API path, single message or batch."""
    return path in SINGLE_MESSAGE_PATHS or path in BATCH_PATHS


def format_timestamp(moment: dt.datetime) -> str:
    """Render an aware datetime as RFC 3339 UTC with milliseconds, as Segment does."""
    utc = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    # isoformat pads the year to four digits, which strftime("%Y") does not do on Linux.
    return utc.isoformat(timespec="milliseconds") + "Z"


def parse_timestamp(value: object) -> dt.datetime | None:
    """Parse an ISO 8601 timestamp string into UTC; no offset means UTC.

    Returns None when it is not one, or when it lies outside the years 1 to 9999 once
    converted to UTC (`0001-01-01T00:00:00+05:00`, for example). Python 3.11's
    `datetime.fromisoformat` accepts `Z`, `+hh:mm`, a space instead of `T` and fractions of
    any length (digits past microseconds are dropped).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.timezone.utc)
    try:
        return parsed.astimezone(dt.timezone.utc)
    except OverflowError:
        return None


def new_api_message_id() -> str:
    """Return a random message id with the `api-` prefix Segment uses for ids it generates."""
    return "api-" + uuid.uuid4().hex


def expand_batch(body: object) -> list[object]:
    """Return the items of a `{"batch": [...]}` body with the envelope merged into each object item.

    The item's own keys win over the envelope's. Items that are not objects are returned as
    they are, so the caller can reject them one by one.
    """
    if not isinstance(body, dict):
        raise InvalidItem("not_an_object", "a batch request body must be a JSON object")
    items = body.get("batch")
    if not isinstance(items, list):
        raise InvalidItem("missing_batch", "a batch request body needs a 'batch' array")
    envelope = {key: body[key] for key in _ENVELOPE_KEYS if key in body}
    expanded: list[object] = []
    for item in items:
        if isinstance(item, dict):
            merged = dict(envelope)
            merged.update(item)
            expanded.append(merged)
        else:
            expanded.append(item)
    return expanded


def stamp(
    message: dict[str, t.Any],
    received_at: dt.datetime,
    client_ip: str | None,
    new_message_id: t.Callable[[], str] = new_api_message_id,
) -> dict[str, t.Any]:
    """Add what Segment's servers add on receipt, in place, and return `message`.

    - `receivedAt` is the server clock.
    - The client's `timestamp` becomes `originalTimestamp`.
    - `timestamp` is corrected for client clock skew: `receivedAt - (sentAt - originalTimestamp)`
      when both client times parse and the result lies within the years 1 to 9999. Otherwise
      it is `originalTimestamp` re-rendered, or else `receivedAt`.
    - `messageId` is generated when missing or empty, `context.ip` is set from the connection
      when absent, and `writeKey` is removed.
    """
    received_text = format_timestamp(received_at)
    message["receivedAt"] = received_text
    if "timestamp" in message:
        message["originalTimestamp"] = message.pop("timestamp")
    original = parse_timestamp(message.get("originalTimestamp"))
    sent = parse_timestamp(message.get("sentAt"))
    corrected = _correct_skew(received_at, sent, original)
    if corrected is not None:
        message["timestamp"] = format_timestamp(corrected)
    elif original is not None:
        message["timestamp"] = format_timestamp(original)
    else:
        # NOTE: an unparseable client timestamp stays in originalTimestamp as sent, and
        # timestamp falls back to receivedAt.
        message["timestamp"] = received_text
    message_id = message.get("messageId")
    if message_id is None or (isinstance(message_id, str) and not message_id.strip()):
        message["messageId"] = new_message_id()
    if client_ip:
        context = message.get("context")
        if context is None:
            message["context"] = {"ip": client_ip}
        elif isinstance(context, dict) and context.get("ip") in (None, ""):
            context["ip"] = client_ip
    message.pop("writeKey", None)
    return message


def _correct_skew(
    received_at: dt.datetime, sent: dt.datetime | None, original: dt.datetime | None
) -> dt.datetime | None:
    if sent is None or original is None:
        return None
    try:
        return received_at - (sent - original)
    except OverflowError:
        return None


def check_type(item: object, implied_type: str | None = None) -> dict[str, t.Any]:
    """Return `item` as a message with a usable `type`, or raise `InvalidItem`.

    `implied_type` is the type a single-message Tracking API path sets, which replaces any
    `type` in the body. Other messages need a non-empty string `type`; whether that type is a
    known stream is decided later by the same code that handles replayed files.
    """
    if not isinstance(item, dict):
        raise InvalidItem("not_an_object", "a message must be a JSON object")
    if implied_type is not None:
        item["type"] = implied_type
        return item
    message_type = item.get("type")
    if not isinstance(message_type, str) or not message_type.strip():
        raise InvalidItem("missing_type", "a message needs a non-empty string 'type'")
    return item
