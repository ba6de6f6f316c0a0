"""The HTTP listener against a real socket."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import socket

import orjson
import pytest
import requests

from tap_segment_webhook.listen.service import ListenerStartError
from tap_segment_webhook.listen.settings import ListenConfigError, ListenSettings

TRACK = {"type": "track", "event": "Order Completed", "messageId": "m-1", "properties": {"revenue": 42.5}}


def post(url: str, data: bytes, headers: dict[str, str] | None = None, method: str = "POST") -> requests.Response:
    return requests.request(method, url, data=data, headers={"Content-Type": "application/json", **(headers or {})}, timeout=10)


def sign(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha1).hexdigest()


def basic(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def test_single_event_archived(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/", orjson.dumps({**TRACK, "writeKey": "wk"}))
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert response.headers["X-Request-Id"]
    assert listener.archived() == [TRACK]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_put_and_patch_accepted(start_listener, method: str) -> None:
    listener = start_listener()
    assert post(listener.url + "/", orjson.dumps(TRACK), method=method).status_code == 200
    assert listener.archived() == [TRACK]


def test_bare_array_archived(start_listener) -> None:
    listener = start_listener()
    second = {"type": "page", "name": "Home", "messageId": "m-2"}
    response = post(listener.url + "/", orjson.dumps([TRACK, second]))
    assert response.status_code == 200
    assert listener.archived() == [TRACK, second]


def test_numbers_archived_exactly(start_listener) -> None:
    listener = start_listener()
    body = b'{"type":"track","properties":{"price":5.0,"id":123456789012345678901234567890}}'
    assert post(listener.url + "/", body).status_code == 200
    segment = listener.archive_dir.glob("segment-*.ndjson").__next__()
    assert segment.read_bytes() == body + b"\n"


def test_gzip_body_accepted(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/", gzip.compress(orjson.dumps(TRACK)), {"Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert listener.archived() == [TRACK]


def test_text_plain_body_accepted(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/", orjson.dumps(TRACK), {"Content-Type": "text/plain;charset=UTF-8"})
    assert response.status_code == 200
    assert listener.archived() == [TRACK]


def test_unsupported_media_type_rejected(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/", b"a=1", {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert listener.archived() == []
    assert [entry["reason"] for entry in listener.rejected()] == ["unsupported_media_type"]


def test_good_signature_accepted(start_listener) -> None:
    listener = start_listener(shared_secret="s3cret")
    body = orjson.dumps(TRACK)
    response = post(listener.url + "/", body, {"X-Signature": sign("s3cret", body)})
    assert response.status_code == 200
    assert listener.archived() == [TRACK]


def test_batch_first_element_signature_accepted(start_listener) -> None:
    listener = start_listener(shared_secret="s3cret")
    first = b'{"type":"track","event":"A"}'
    body = b"[ " + first + b' , {"type":"page"} ]'
    response = post(listener.url + "/", body, {"X-Signature": sign("s3cret", first)})
    assert response.status_code == 200
    assert len(listener.archived()) == 2


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"X-Signature": "zz"}, id="bad-hex"),
        pytest.param({"X-Signature": sign("other", orjson.dumps(TRACK))}, id="other-secret"),
    ],
)
def test_bad_signature_rejected(start_listener, headers: dict[str, str]) -> None:
    listener = start_listener(shared_secret="s3cret")
    response = post(listener.url + "/", orjson.dumps(TRACK), headers)
    assert response.status_code == 401
    assert listener.archived() == []
    assert listener.rejected() == []


def test_signature_checked_before_parsing(start_listener) -> None:
    listener = start_listener(shared_secret="s3cret")
    response = post(listener.url + "/", b"{not json")
    assert response.status_code == 401
    assert listener.rejected() == []


def test_signature_covers_compressed_bytes(start_listener) -> None:
    listener = start_listener(shared_secret="s3cret")
    body = gzip.compress(orjson.dumps(TRACK))
    response = post(listener.url + "/", body, {"Content-Encoding": "gzip", "X-Signature": sign("s3cret", body)})
    assert response.status_code == 200


def test_oversize_body_by_length(start_listener) -> None:
    listener = start_listener(max_body_bytes=1000)
    response = post(listener.url + "/", orjson.dumps({**TRACK, "pad": "x" * 2000}))
    assert response.status_code == 413
    assert listener.archived() == []


def test_oversize_chunked_body(start_listener) -> None:
    listener = start_listener(max_body_bytes=1000)
    chunks = iter([b'{"type":"track","pad":"', b"x" * 600, b"x" * 600, b'"}'])
    response = requests.post(listener.url + "/", data=chunks, headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 413
    assert listener.archived() == []


def test_oversize_decompressed_body(start_listener) -> None:
    listener = start_listener(max_decompressed_bytes=10_000)
    bomb = gzip.compress(b'{"type":"track","pad":"' + b"x" * 1_000_000 + b'"}')
    response = post(listener.url + "/", bomb, {"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert listener.archived() == []
    assert listener.rejected() == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b'"just a string"', "not_an_object"),
        (b"42", "not_an_object"),
        (b'{"event":"no type"}', "missing_type"),
        (b'{"type":"track","p":"\xff"}', "invalid_utf8"),
    ],
)
def test_malformed_body_rejected(start_listener, body: bytes, reason: str) -> None:
    listener = start_listener()
    response = post(listener.url + "/", body)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert listener.archived() == []
    rejects = listener.rejected()
    assert len(rejects) == 1
    assert rejects[0]["reason"] == reason
    assert rejects[0]["source"]["path"] == "/"
    assert rejects[0]["source"]["request_id"] == response.headers["X-Request-Id"]


def test_corrupt_gzip_rejected(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/", b"\x1f\x8bnot really", {"Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert [entry["reason"] for entry in listener.rejected()] == ["invalid_compressed_body"]


def test_array_with_bad_item_keeps_good_items(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/", orjson.dumps([TRACK, {"event": "untyped"}, "text"]))
    assert response.status_code == 200
    assert listener.archived() == [TRACK]
    rejects = listener.rejected()
    assert [(entry["reason"], entry["source"]["item"]) for entry in rejects] == [
        ("missing_type", 1),
        ("not_an_object", 2),
    ]
    assert rejects[0]["raw"] == '{"event":"untyped"}'


def test_empty_array_accepted(start_listener) -> None:
    listener = start_listener()
    assert post(listener.url + "/", b"[]").status_code == 200
    assert listener.archived() == []


def test_custom_webhook_path(start_listener) -> None:
    listener = start_listener(webhook_path="/hooks/segment")
    assert post(listener.url + "/hooks/segment", orjson.dumps(TRACK)).status_code == 200
    assert post(listener.url + "/", orjson.dumps(TRACK)).status_code == 404


@pytest.mark.parametrize(
    ("path", "expected_type"),
    [
        ("/v1/track", "track"),
        ("/v1/identify", "identify"),
        ("/v1/page", "page"),
        ("/v1/screen", "screen"),
        ("/v1/group", "group"),
        ("/v1/alias", "alias"),
        ("/v1/t", "track"),
        ("/v1/i", "identify"),
        ("/v1/p", "page"),
        ("/v1/s", "screen"),
        ("/v1/g", "group"),
        ("/v1/a", "alias"),
    ],
)
def test_tracking_single_paths(start_listener, path: str, expected_type: str) -> None:
    listener = start_listener()
    body = {"userId": "u1", "timestamp": "2024-03-05T10:00:00Z", "writeKey": "wk"}
    response = post(listener.url + path, orjson.dumps(body))
    assert response.status_code == 200
    (message,) = listener.archived()
    assert message["type"] == expected_type
    assert message["originalTimestamp"] == "2024-03-05T10:00:00Z"
    assert message["timestamp"] == "2024-03-05T10:00:00.000Z"
    assert message["receivedAt"].endswith("Z")
    assert message["messageId"].startswith("api-")
    assert message["context"] == {"ip": "127.0.0.1"}
    assert "writeKey" not in message


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/import", "/v1/b"])
def test_tracking_batch_paths(start_listener, path: str) -> None:
    listener = start_listener()
    body = {
        "writeKey": "wk",
        "sentAt": "2024-03-05T10:00:02.500Z",
        "context": {"library": {"name": "test"}},
        "batch": [
            {"type": "track", "event": "A", "timestamp": "2024-03-05T10:00:00.000Z", "messageId": "b-1"},
            {"type": "identify", "userId": "u1", "context": {"ip": "203.0.113.9"}},
        ],
    }
    response = post(listener.url + path, orjson.dumps(body))
    assert response.status_code == 200
    first, second = listener.archived()
    assert first["messageId"] == "b-1"
    assert first["sentAt"] == "2024-03-05T10:00:02.500Z"
    assert first["context"] == {"library": {"name": "test"}, "ip": "127.0.0.1"}
    assert second["context"] == {"ip": "203.0.113.9"}
    assert second["type"] == "identify"


def test_tracking_batch_without_batch_key(start_listener) -> None:
    listener = start_listener()
    response = post(listener.url + "/v1/batch", orjson.dumps(TRACK))
    assert response.status_code == 400
    assert [entry["reason"] for entry in listener.rejected()] == ["missing_batch"]


def test_tracking_single_path_needs_object(start_listener) -> None:
    listener = start_listener()
    assert post(listener.url + "/v1/track", b"[]").status_code == 400


def test_write_key_in_header_or_body(start_listener) -> None:
    listener = start_listener(write_keys=["wk1"])
    url = listener.url + "/v1/track"
    assert post(url, orjson.dumps({"event": "A"}), {"Authorization": basic("wk1")}).status_code == 200
    assert post(url, orjson.dumps({"event": "B", "writeKey": "wk1"})).status_code == 200
    assert post(url, orjson.dumps({"event": "C"})).status_code == 401
    assert post(url, orjson.dumps({"event": "D"}), {"Authorization": basic("other")}).status_code == 401
    assert post(url, orjson.dumps({"event": "E", "writeKey": "other"})).status_code == 401
    assert [message["event"] for message in listener.archived()] == ["A", "B"]
    assert listener.rejected() == []


def test_write_keys_apply_to_webhook_items(start_listener) -> None:
    listener = start_listener(write_keys=["wk1"])
    url = listener.url + "/"
    both = [{"type": "track", "writeKey": "wk1"}, {"type": "page", "writeKey": "wk1"}]
    assert post(url, orjson.dumps(both)).status_code == 200
    one_missing = [{"type": "track", "writeKey": "wk1"}, {"type": "page"}]
    assert post(url, orjson.dumps(one_missing)).status_code == 401
    assert len(listener.archived()) == 2


def test_secret_only_protects_tracking_paths(start_listener) -> None:
    listener = start_listener(shared_secret="s3cret")
    body = orjson.dumps({"event": "A"})
    assert post(listener.url + "/v1/track", body).status_code == 401
    assert post(listener.url + "/v1/track", body, {"X-Signature": sign("s3cret", body)}).status_code == 200


def test_secret_and_write_keys_split_by_path(start_listener) -> None:
    listener = start_listener(shared_secret="s3cret", write_keys=["wk1"])
    body = orjson.dumps(TRACK)
    assert post(listener.url + "/", body, {"X-Signature": sign("s3cret", body)}).status_code == 200
    assert post(listener.url + "/", body, {"Authorization": basic("wk1")}).status_code == 401
    assert post(listener.url + "/v1/track", body, {"Authorization": basic("wk1")}).status_code == 200


def test_archive_budget_returns_503(start_listener) -> None:
    listener = start_listener(archive_max_bytes=200)
    assert post(listener.url + "/", orjson.dumps(TRACK)).status_code == 200
    response = post(listener.url + "/", orjson.dumps({**TRACK, "pad": "x" * 300}))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert listener.archived() == [TRACK]


def test_health_reports_archive_and_emission(start_listener) -> None:
    listener = start_listener()
    post(listener.url + "/", orjson.dumps(TRACK))
    response = requests.get(listener.url + "/health", timeout=10)
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["emission"] == {"records": 0}
    assert health["archive"]["events"] == 1
    assert health["archive"]["open"] is True
    assert health["requests"]["accepted_events"] == 1


def test_unknown_path_and_method(start_listener) -> None:
    listener = start_listener()
    not_found = post(listener.url + "/v1/delete", orjson.dumps(TRACK))
    assert not_found.status_code == 404
    assert not_found.headers["X-Request-Id"]
    assert not_found.json()["code"] == "not_found"
    not_allowed = requests.get(listener.url + "/", timeout=10)
    assert not_allowed.status_code == 405
    assert not_allowed.headers["X-Request-Id"]
    assert not_allowed.json()["code"] == "method_not_allowed"
    assert "POST" in not_allowed.headers["Allow"]


def test_health_has_request_id(start_listener) -> None:
    listener = start_listener()
    assert requests.get(listener.url + "/health", timeout=10).headers["X-Request-Id"]


def test_first_element_signature_extends_to_appended_items(start_listener) -> None:
    # The documented risk of batch_signature "first_element": a signed single event can be
    # wrapped in an array and other events appended after it.
    listener = start_listener(shared_secret="s3cret")
    signed = orjson.dumps(TRACK)
    forged = b"[" + signed + b',{"type":"track","event":"Forged"}]'
    assert post(listener.url + "/", forged, {"X-Signature": sign("s3cret", signed)}).status_code == 200
    assert [message["event"] for message in listener.archived()] == ["Order Completed", "Forged"]


def test_whole_body_signature_rejects_appended_items(start_listener) -> None:
    listener = start_listener(shared_secret="s3cret", batch_signature="whole_body")
    signed = orjson.dumps(TRACK)
    forged = b"[" + signed + b',{"type":"track","event":"Forged"}]'
    response = post(listener.url + "/", forged, {"X-Signature": sign("s3cret", signed)})
    assert response.status_code == 401
    assert listener.archived() == []
    whole = post(listener.url + "/", forged, {"X-Signature": sign("s3cret", forged)})
    assert whole.status_code == 200
    assert len(listener.archived()) == 2


def test_secrets_never_logged(start_listener, caplog: pytest.LogCaptureFixture) -> None:
    listener = start_listener(shared_secret="s3cret-value", write_keys=["wk-value-1"])
    caplog.set_level("DEBUG")
    for header in ("Content-Type", "Content-Encoding"):
        for secret in ("s3cret-value", "wk-value-1"):
            body = b'{"type":"track"}'
            response = post(
                listener.url + "/v1/track", body, {header: f"x/{secret}", "Authorization": basic("wk-value-1")}
            )
            assert response.status_code == 415
    post(listener.url + "/", b'{"writeKey":"wk-value-1"}', {"X-Signature": "s3cret-value"})
    post(listener.url + "/v1/track", b'{"writeKey":"wk-value-1"', {"Authorization": basic("wk-value-1")})
    assert "rejected with 415" in caplog.text
    assert "s3cret-value" not in caplog.text
    assert "wk-value-1" not in caplog.text


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.internal"])
def test_public_bind_needs_credentials(host: str) -> None:
    with pytest.raises(ListenConfigError, match="allow_unauthenticated_public"):
        ListenSettings.from_config({"listen_host": host})
    assert ListenSettings.from_config({"listen_host": host, "shared_secret": "s"}).listen_host == host
    assert ListenSettings.from_config({"listen_host": host, "write_keys": ["wk"]}).listen_host == host
    assert ListenSettings.from_config({"listen_host": host, "allow_unauthenticated_public": True}).listen_host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_bind_allowed(host: str) -> None:
    assert ListenSettings.from_config({"listen_host": host}).authenticated is False


@pytest.mark.parametrize(
    "config",
    [
        {"listen_port": 70000},
        {"webhook_path": "hooks"},
        {"webhook_path": "/v1/track"},
        {"max_body_bytes": 0},
        {"archive_max_bytes": -1},
        {"request_timeout_seconds": 0},
        {"request_timeout_seconds": "30"},
        {"batch_signature": "none"},
    ],
)
def test_invalid_settings_rejected(config: dict) -> None:
    with pytest.raises(ListenConfigError):
        ListenSettings.from_config(config)


def test_port_in_use_raises(start_listener) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(ListenerStartError, match="in use"):
            start_listener(listen_port=port)


def test_stop_closes_archive(start_listener) -> None:
    listener = start_listener()
    assert post(listener.url + "/", orjson.dumps(TRACK)).status_code == 200
    listener.service.stop(5)
    assert listener.service.running is False
    assert listener.archived() == [TRACK]
    with pytest.raises(requests.ConnectionError):
        requests.get(listener.url + "/health", timeout=2)
