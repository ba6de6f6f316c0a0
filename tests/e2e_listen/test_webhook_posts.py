"""Webhook-style posts to the running tap, checked by status code, rejects file and PostgreSQL rows."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json

import pytest
import requests
from listen_processes import REQUEST_TIMEOUT_SECONDS, listen_config, loaded_ids, make_event, unique_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SECRET = "e2e-shared-secret"
MAX_BODY_BYTES = 64 * 1024
MAX_DECOMPRESSED_BYTES = 256 * 1024


def sign(body: bytes) -> str:
    return hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()


def post(url: str, body: bytes, signature: str | None, **headers: str) -> requests.Response:
    if signature is not None:
        headers["X-Signature"] = signature
    headers.setdefault("Content-Type", "application/json")
    return requests.post(url, data=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)


def encode(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def test_webhook_posts_load(tmp_path, start_pipeline, postgres, pg_schema) -> None:
    config = listen_config(
        tmp_path,
        shared_secret=SECRET,
        webhook_path="/webhook",
        max_body_bytes=MAX_BODY_BYTES,
        max_decompressed_bytes=MAX_DECOMPRESSED_BYTES,
    )
    pipeline = start_pipeline(config)
    pipeline.wait_ready()
    url = f"{pipeline.url}/webhook"
    accepted: dict[str, list[str]] = {}
    statuses: dict[str, int] = {}

    def expect_loaded(case: str, *events: dict) -> None:
        accepted[case] = [event["messageId"] for event in events]

    single = make_event("track", unique_id("single"))
    body = encode(single)
    statuses["single"] = post(url, body, sign(body)).status_code
    expect_loaded("single", single)

    array = [make_event(kind, unique_id("array")) for kind in ("identify", "page", "group")]
    body = encode(array)
    statuses["array"] = post(url, body, sign(body)).status_code
    expect_loaded("array", *array)

    # Segment's batching webhooks sign only the raw bytes of the first element.
    first_signed = [make_event("screen", unique_id("first")), make_event("track", unique_id("first"))]
    body = encode(first_signed)
    statuses["array_first_element_signed"] = post(url, body, sign(encode(first_signed[0]))).status_code
    expect_loaded("array_first_element_signed", *first_signed)

    zipped = make_event("page", unique_id("gzip"))
    body = gzip.compress(encode(zipped))
    statuses["gzip"] = post(url, body, sign(body), **{"Content-Encoding": "gzip"}).status_code
    expect_loaded("gzip", zipped)

    plain_text = make_event("identify", unique_id("text"))
    body = encode(plain_text)
    statuses["text_plain"] = post(url, body, sign(body), **{"Content-Type": "text/plain"}).status_code
    expect_loaded("text_plain", plain_text)

    forged = make_event("track", unique_id("forged"))
    body = encode(forged)
    statuses["bad_signature"] = post(url, body, sign(b"other bytes")).status_code
    unsigned = make_event("track", unique_id("unsigned"))
    statuses["no_signature"] = post(url, encode(unsigned), None).status_code

    oversize = make_event("track", unique_id("oversize"))
    oversize["properties"] = {"padding": "x" * MAX_BODY_BYTES}
    body = encode(oversize)
    statuses["oversize"] = post(url, body, sign(body)).status_code
    # Small on the wire, past max_decompressed_bytes once inflated.
    inflated = make_event("track", unique_id("inflated"))
    inflated["properties"] = {"padding": "x" * MAX_DECOMPRESSED_BYTES}
    body = gzip.compress(encode(inflated))
    statuses["oversize_decompressed"] = post(url, body, sign(body), **{"Content-Encoding": "gzip"}).status_code

    malformed = b'{"type": "track", "messageId": "malformed-1", '
    malformed_response = post(url, malformed, sign(malformed))
    statuses["malformed"] = malformed_response.status_code

    pipeline.stop()

    assert statuses == {
        "single": 200,
        "array": 200,
        "array_first_element_signed": 200,
        "gzip": 200,
        "text_plain": 200,
        "bad_signature": 401,
        "no_signature": 401,
        "oversize": 413,
        "oversize_decompressed": 413,
        "malformed": 400,
    }

    loaded = {
        stream: loaded_ids(postgres, pg_schema, stream)
        for stream in ("group", "identify", "page", "screen", "track")
    }
    all_loaded = [message_id for ids in loaded.values() for message_id in ids]
    for case, message_ids in accepted.items():
        for message_id in message_ids:
            assert all_loaded.count(message_id) == 1, f"{case}: {message_id} in {loaded}"
    for refused in (forged, unsigned, oversize, inflated):
        assert refused["messageId"] not in all_loaded
    assert "malformed-1" not in all_loaded
    assert len(all_loaded) == sum(len(ids) for ids in accepted.values())

    rejects = [json.loads(line) for line in (tmp_path / "rejects.ndjson").read_text().splitlines()]
    request_id = malformed_response.headers["X-Request-Id"]
    matching = [entry for entry in rejects if entry["source"].get("request_id") == request_id]
    assert len(matching) == 1, rejects
    assert matching[0]["raw"] == malformed.decode()
    # A request refused for its signature or size is never written to the rejects file.
    assert len(rejects) == 1, rejects
