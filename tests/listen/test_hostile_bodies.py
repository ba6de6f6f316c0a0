"""Bodies that are valid HTTP but hostile: deep nesting, extreme numbers, odd times and headers.

None of them may get a 5xx, because Segment retries a 5xx and these bodies never change.
"""

from __future__ import annotations

import gzip
import socket

import orjson
import pytest
import requests

from tap_segment_webhook.decode.parse import parse_json as replay_parse_json

TRACK = {"type": "track", "event": "Order Completed", "messageId": "m-1"}


def post(url: str, data: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(url, data=data, headers={"Content-Type": "application/json", **(headers or {})}, timeout=10)


def nested(depth: int) -> bytes:
    return b'{"type":"track","properties":' + b"[" * depth + b"1" + b"]" * depth + b"}"


def archive_lines(listener) -> list[bytes]:
    lines: list[bytes] = []
    for path in sorted(listener.archive_dir.glob("segment-*.ndjson")):
        lines.extend(path.read_bytes().splitlines())
    return lines


def test_deep_body_gets_400_and_reject(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/", nested(300))
    assert response.status_code == 400
    assert response.json()["code"] == "too_deeply_nested"
    assert archive_lines(listener) == []
    rejects = listener.rejected()
    assert [entry["reason"] for entry in rejects] == ["too_deeply_nested"]
    assert rejects[0]["raw"].encode() == nested(300)
    assert rejects[0]["source"]["request_id"] == response.headers["X-Request-Id"]


def test_deep_item_rejected_alone(start_listener) -> None:
    listener = start_listener()
    body = b"[" + orjson.dumps(TRACK) + b"," + nested(300) + b"]"
    response = post(listener.url + "/", body)
    assert response.status_code == 200
    assert listener.archived() == [TRACK]
    rejects = listener.rejected()
    assert [(entry["reason"], entry["source"]["item"]) for entry in rejects] == [("too_deeply_nested", 1)]


def test_deep_tracking_batch_item_rejected_alone(start_listener) -> None:
    listener = start_listener()
    body = b'{"batch":[' + orjson.dumps(TRACK) + b"," + nested(300) + b"]}"
    response = post(listener.url + "/v1/batch", body)
    assert response.status_code == 200
    assert [message["messageId"] for message in listener.archived()] == ["m-1"]
    assert [entry["reason"] for entry in listener.rejected()] == ["too_deeply_nested"]


def test_deepest_archivable_body_accepted(start_listener) -> None:
    listener = start_listener()
    # The message object is one level and each array another: 200 in all is the maximum,
    # the same as replay's decoder accepts.
    assert post(listener.url + "/", nested(199)).status_code == 200
    assert archive_lines(listener) == [nested(199)]
    assert post(listener.url + "/", nested(200)).status_code == 400


def test_nesting_past_parser_limit_gets_400(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/", nested(50_000))
    assert response.status_code == 400
    assert [entry["reason"] for entry in listener.rejected()] == ["too_deeply_nested"]


def test_gzipped_deep_body_gets_400(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/", gzip.compress(nested(300)), {"Content-Encoding": "gzip"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "number",
    [
        b"1e999999999",
        b"-1E+99999999999999999999",
        b"1e-999999999",
        b"1" * 5000,
        b"0." + b"1" * 17000,
        b"-0",
        b"1.50",
        b"NaN",
        b"Infinity",
        b"-Infinity",
    ],
)
def test_number_archived_as_received(start_listener, number: bytes) -> None:
    listener = start_listener()
    body = b'{"type":"track","messageId":"m-1","properties":{"n":' + number + b"}}"
    response = post(listener.url + "/", body)
    assert response.status_code == 200
    assert archive_lines(listener) == [body]
    # The archive line replays to the same value, or the same error, as the body itself.
    assert replayed(archive_lines(listener)[0]) == replayed(body)


def test_number_text_kept_on_tracking_path(start_listener) -> None:
    listener = start_listener()
    body = b'{"messageId":"m-1","event":"E","properties":{"n":1e999999999,"m":NaN}}'
    assert post(listener.url + "/v1/track", body).status_code == 200
    [line] = archive_lines(listener)
    assert b'"properties":{"n":1e999999999,"m":NaN}' in line


def test_numeric_type_is_not_a_type(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/", b'{"type":12,"event":"E"}')
    assert response.status_code == 400
    assert [entry["reason"] for entry in listener.rejected()] == ["missing_type"]


@pytest.mark.parametrize(
    "times",
    [
        pytest.param({"timestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59Z"}, id="skew-underflow"),
        pytest.param({"timestamp": "9999-12-31T23:59:59Z", "sentAt": "0001-01-01T00:00:00Z"}, id="skew-overflow"),
        pytest.param({"timestamp": "0001-01-01T00:00:00+05:00"}, id="offset-before-year-1"),
        pytest.param({"timestamp": "9999-12-31T23:00:00-05:00"}, id="offset-after-year-9999"),
    ],
)
def test_extreme_client_times_accepted(start_listener, times: dict[str, str]) -> None:
    listener = start_listener()
    response = post(listener.url + "/v1/track", orjson.dumps({"event": "E", **times}))
    assert response.status_code == 200
    [message] = listener.archived()
    assert message["originalTimestamp"] == times["timestamp"]
    assert len(message["timestamp"]) == len("2024-03-05T09:58:40.100Z")


def test_year_one_timestamp_keeps_four_digits(start_listener) -> None:
    listener = start_listener()
    body = {"event": "E", "timestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59Z"}
    assert post(listener.url + "/v1/track", orjson.dumps(body)).status_code == 200
    assert listener.archived()[0]["timestamp"] == "0001-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    "authorization",
    [b"Basic \xc3\xa9\xc3\xa9", b"Basic !!!!", b"Basic " + b"\xff\xfe", b"Basic", b"Bearer x"],
)
def test_unusable_authorization_gets_401(start_listener, authorization: bytes) -> None:
    listener = start_listener(write_keys=["wk1"])
    body = orjson.dumps(TRACK)
    request = (
        b"POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Authorization: " + authorization + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n" + body
    )
    assert raw_status(listener.service.bound_port, request) == 401


def test_malformed_chunked_body_gets_400(start_listener) -> None:
    listener = start_listener()
    request = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5\r\n{\"a\":\r\nzz\r\n1}\r\n0\r\n\r\n"
    )
    assert raw_status(listener.service.bound_port, request) == 400
    assert archive_lines(listener) == []


def test_body_shorter_than_length_gets_400(start_listener) -> None:
    listener = start_listener()
    with socket.create_connection(("127.0.0.1", listener.service.bound_port), timeout=10) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"type\":")
        connection.shutdown(socket.SHUT_WR)
        status = read_status(connection)
    # A client that half-closes may never read the response, but the listener must not fail.
    assert status in (None, 400)
    assert archive_lines(listener) == []
    assert requests.get(listener.url + "/health", timeout=10).status_code == 200


def replayed(raw: bytes) -> object:
    """Return what the replay decoder makes of `raw`: its value, or the name of its error."""
    try:
        return replay_parse_json(raw).value
    except Exception as error:  # noqa: BLE001 - the error type is the result compared
        return type(error).__name__


def raw_status(port: int, request: bytes) -> int | None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        return read_status(connection)


def read_status(connection: socket.socket) -> int | None:
    """Return the status code of the first response on `connection`, or None if it closes first."""
    received = b""
    while b"\r\n" not in received:
        try:
            chunk = connection.recv(4096)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        received += chunk
    return int(received.split(b" ", 2)[1])
