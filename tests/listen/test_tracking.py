"""Tracking API stamping: receivedAt, clock-skew correction, ids, context.ip."""

from __future__ import annotations

import datetime as dt

import pytest

from tap_segment_webhook.listen import tracking

RECEIVED = dt.datetime(2024, 3, 5, 9, 58, 40, 100000, tzinfo=dt.timezone.utc)


def fixed_id() -> str:
    return "api-fixed"


def test_stamp_corrects_clock_skew() -> None:
    # The client clock is ahead: it sent 2.5 s after the event by its own clock, and the
    # server received it at 09:58:40.100, so the event happened at 09:58:37.600.
    message = {
        "type": "track",
        "timestamp": "2024-03-05T10:00:00.000Z",
        "sentAt": "2024-03-05T10:00:02.500Z",
    }
    tracking.stamp(message, RECEIVED, "203.0.113.9", fixed_id)
    assert message["receivedAt"] == "2024-03-05T09:58:40.100Z"
    assert message["originalTimestamp"] == "2024-03-05T10:00:00.000Z"
    assert message["timestamp"] == "2024-03-05T09:58:37.600Z"
    assert message["sentAt"] == "2024-03-05T10:00:02.500Z"


def test_stamp_skew_with_offsets_and_microseconds() -> None:
    # Python's library sends +00:00 offsets and microseconds; 0.019 s elapsed on the client.
    message = {
        "timestamp": "2024-03-05T11:00:06.000+01:00",
        "sentAt": "2024-03-05T10:00:06.019000+00:00",
    }
    received = dt.datetime(2024, 3, 5, 10, 0, 6, 240000, tzinfo=dt.timezone.utc)
    tracking.stamp(message, received, None, fixed_id)
    assert message["timestamp"] == "2024-03-05T10:00:06.221Z"
    assert message["originalTimestamp"] == "2024-03-05T11:00:06.000+01:00"


def test_stamp_without_sent_at_keeps_original() -> None:
    message = {"timestamp": "2020-09-18T14:40:53Z"}
    tracking.stamp(message, RECEIVED, None, fixed_id)
    assert message["timestamp"] == "2020-09-18T14:40:53.000Z"
    assert message["originalTimestamp"] == "2020-09-18T14:40:53Z"
    assert "sentAt" not in message


def test_stamp_without_client_times_uses_received_at() -> None:
    message = {"sentAt": "2024-03-05T10:00:02.500Z"}
    tracking.stamp(message, RECEIVED, None, fixed_id)
    assert message["timestamp"] == "2024-03-05T09:58:40.100Z"
    assert "originalTimestamp" not in message


def test_stamp_unparseable_timestamp_falls_back() -> None:
    message = {"timestamp": "yesterday", "sentAt": "2024-03-05T10:00:02.500Z"}
    tracking.stamp(message, RECEIVED, None, fixed_id)
    assert message["originalTimestamp"] == "yesterday"
    assert message["timestamp"] == "2024-03-05T09:58:40.100Z"


def test_stamp_keeps_client_original_timestamp() -> None:
    message = {"originalTimestamp": "2024-03-05T09:00:00Z"}
    tracking.stamp(message, RECEIVED, None, fixed_id)
    assert message["originalTimestamp"] == "2024-03-05T09:00:00Z"
    assert message["timestamp"] == "2024-03-05T09:00:00.000Z"


@pytest.mark.parametrize("given", [None, "", "   "])
def test_stamp_adds_missing_message_id(given: str | None) -> None:
    message = {} if given is None else {"messageId": given}
    tracking.stamp(message, RECEIVED, None, fixed_id)
    assert message["messageId"] == "api-fixed"


def test_stamp_keeps_message_id() -> None:
    message = {"messageId": "m-1"}
    tracking.stamp(message, RECEIVED, None, fixed_id)
    assert message["messageId"] == "m-1"


def test_generated_message_ids_are_unique() -> None:
    ids = {tracking.new_api_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(message_id.startswith("api-") for message_id in ids)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        pytest.param(None, {"ip": "198.51.100.7"}, id="no-context"),
        pytest.param({"locale": "de"}, {"locale": "de", "ip": "198.51.100.7"}, id="context-without-ip"),
        pytest.param({"ip": None}, {"ip": "198.51.100.7"}, id="null-ip"),
        pytest.param({"ip": "203.0.113.9"}, {"ip": "203.0.113.9"}, id="client-ip-kept"),
    ],
)
def test_stamp_context_ip(context: dict | None, expected: dict) -> None:
    message = {} if context is None else {"context": context}
    tracking.stamp(message, RECEIVED, "198.51.100.7", fixed_id)
    assert message["context"] == expected


def test_stamp_context_not_an_object_is_kept() -> None:
    message = {"context": "odd"}
    tracking.stamp(message, RECEIVED, "198.51.100.7", fixed_id)
    assert message["context"] == "odd"


def test_stamp_removes_write_key() -> None:
    message = {"writeKey": "wk"}
    tracking.stamp(message, RECEIVED, None, fixed_id)
    assert "writeKey" not in message


def test_expand_batch_merges_envelope() -> None:
    body = {
        "writeKey": "wk",
        "sentAt": "2024-03-05T10:00:02.500Z",
        "context": {"library": {"name": "envelope"}},
        "integrations": {"All": False},
        "batch": [
            {"type": "track", "event": "A"},
            {"type": "page", "context": {"ip": "1.2.3.4"}, "sentAt": "2024-03-05T10:00:03Z"},
            "not an object",
        ],
    }
    items = tracking.expand_batch(body)
    assert items[0] == {
        "type": "track",
        "event": "A",
        "sentAt": "2024-03-05T10:00:02.500Z",
        "context": {"library": {"name": "envelope"}},
        "integrations": {"All": False},
    }
    assert items[1]["context"] == {"ip": "1.2.3.4"}
    assert items[1]["sentAt"] == "2024-03-05T10:00:03Z"
    assert items[2] == "not an object"
    assert all("writeKey" not in item for item in items[:2])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "not_an_object"),
        ({"batch": {"type": "track"}}, "missing_batch"),
        ({}, "missing_batch"),
    ],
)
def test_expand_batch_invalid_bodies(body: object, reason: str) -> None:
    with pytest.raises(tracking.InvalidItem) as caught:
        tracking.expand_batch(body)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("item", "implied", "outcome"),
    [
        ({"type": "track"}, None, "track"),
        ({"type": "track"}, "identify", "identify"),
        ({}, "page", "page"),
        ({}, None, "missing_type"),
        ({"type": ""}, None, "missing_type"),
        ({"type": 5}, None, "missing_type"),
        ("text", None, "not_an_object"),
        (["list"], "track", "not_an_object"),
    ],
)
def test_check_type_cases(item: object, implied: str | None, outcome: str) -> None:
    try:
        message = tracking.check_type(item, implied)
    except tracking.InvalidItem as error:
        assert error.reason == outcome
    else:
        assert message["type"] == outcome


def test_path_table_covers_every_type() -> None:
    assert set(tracking.SINGLE_MESSAGE_PATHS.values()) == {"track", "identify", "page", "screen", "group", "alias"}
    for long_path, message_type in tracking.SINGLE_MESSAGE_PATHS.items():
        if len(long_path) > 5:
            assert tracking.SINGLE_MESSAGE_PATHS["/v1/" + message_type[0]] == message_type
    assert tracking.is_tracking_path("/v1/b")
    assert not tracking.is_tracking_path("/v1/delete")


def test_format_timestamp_milliseconds() -> None:
    moment = dt.datetime(2024, 1, 2, 3, 4, 5, 678999, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert tracking.format_timestamp(moment) == "2024-01-02T01:04:05.678Z"
