"""Body decompression limits, JSON parsing that keeps number text, and line encoding."""

from __future__ import annotations

import gzip
import zlib

import pytest

from tap_segment_webhook.listen import body


def test_decompress_identity_and_limit() -> None:
    assert body.decompress(b"abc", None, 3) == b"abc"
    assert body.decompress(b"abc", "identity", 3) == b"abc"
    with pytest.raises(body.BodyError) as caught:
        body.decompress(b"abcd", None, 3)
    assert caught.value.status == 413


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "GZIP"])
def test_decompress_gzip(encoding: str) -> None:
    assert body.decompress(gzip.compress(b'{"a":1}'), encoding, 100) == b'{"a":1}'


def test_decompress_concatenated_gzip_members() -> None:
    data = gzip.compress(b"[1,") + gzip.compress(b"2]")
    assert body.decompress(data, "gzip", 100) == b"[1,2]"


def test_decompress_deflate() -> None:
    assert body.decompress(zlib.compress(b"{}"), "deflate", 10) == b"{}"


def test_gzip_bomb_stops_at_limit() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(body.BodyError) as caught:
        body.decompress(bomb, "gzip", 1_000_000)
    assert caught.value.status == 413
    assert caught.value.reason == "decompressed_body_too_large"


@pytest.mark.parametrize(
    ("data", "encoding", "status", "reason"),
    [
        (b"not gzip", "gzip", 400, "invalid_compressed_body"),
        (gzip.compress(b"{}")[:-6], "gzip", 400, "invalid_compressed_body"),
        (b"{}", "br", 415, "unsupported_content_encoding"),
        (zlib.compress(b"{}") + b"x", "deflate", 400, "invalid_compressed_body"),
    ],
)
def test_decompress_errors(data: bytes, encoding: str, status: int, reason: str) -> None:
    with pytest.raises(body.BodyError) as caught:
        body.decompress(data, encoding, 100)
    assert caught.value.status == status
    assert caught.value.reason == reason


def test_parse_and_encode_keep_number_text() -> None:
    raw = b'{"a":1.50,"b":123456789012345678901234567890,"c":-5,"d":1e400,"e":0.1000000000000000055511151231257827}'
    assert body.encode_line(body.parse_json(raw)) == raw + b"\n"


@pytest.mark.parametrize(
    "number",
    [
        b"1e999999999",
        b"-1E+99999999999999999999",
        b"1e-999999999",
        b"-0",
        b"0.0000",
        b"1" * 5000,
        b"0." + b"1" * 20000,
        b"NaN",
        b"Infinity",
        b"-Infinity",
    ],
)
def test_numbers_and_constants_keep_their_text(number: bytes) -> None:
    raw = b'{"n":' + number + b',"list":[' + number + b"]}"
    assert body.encode_line(body.parse_json(raw)) == raw + b"\n"


def test_number_is_not_a_string() -> None:
    value = body.parse_json(b'{"type":12,"n":1.5}')
    assert value == {"type": body.NumberText("12"), "n": body.NumberText("1.5")}
    assert not isinstance(value["type"], str)


def test_deep_value_rejected_when_encoded() -> None:
    deep = b"[" * 300 + b'{"n":1.0,"s":"\\ud800"}' + b"]" * 300
    value = body.parse_json(deep)
    with pytest.raises(body.BodyError) as caught:
        body.encode_line({"type": "track", "properties": value})
    assert caught.value.reason == "too_deeply_nested"
    assert caught.value.status == 400
    assert body.encode_for_rejects(value) == deep


def test_deepest_encodable_value() -> None:
    value = body.parse_json(b"[" * body.MAX_NESTING_DEPTH + b"]" * body.MAX_NESTING_DEPTH)
    assert body.nesting_depth(value) == body.MAX_NESTING_DEPTH
    assert body.encode_value(value) == b"[" * body.MAX_NESTING_DEPTH + b"]" * body.MAX_NESTING_DEPTH
    with pytest.raises(body.BodyError):
        body.encode_value([value])


def test_parse_rejects_nesting_past_recursion_limit() -> None:
    with pytest.raises(body.BodyError) as caught:
        body.parse_json(b"[" * 100_000 + b"]" * 100_000)
    assert caught.value.reason == "too_deeply_nested"
    assert caught.value.status == 400


def test_encode_replaces_lone_surrogates() -> None:
    value = body.parse_json(b'{"s":"a\\ud800b","ok":"\\ud83d\\ude00"}')
    assert body.encode_line(value) == '{"s":"a\ufffdb","ok":"\U0001f600"}\n'.encode()


def test_parse_strips_byte_order_mark() -> None:
    assert body.parse_json(b'\xef\xbb\xbf{"a":"b"}') == {"a": "b"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{bad", "invalid_json"),
        (b"", "invalid_json"),
        (b'{"a":nan}', "invalid_json"),
        (b'{"a":-NaN}', "invalid_json"),
        (b'{"a":1} {"b":2}', "invalid_json"),
        (b'{"a":"\xff"}', "invalid_utf8"),
    ],
)
def test_parse_rejects_invalid_bodies(raw: bytes, reason: str) -> None:
    with pytest.raises(body.BodyError) as caught:
        body.parse_json(raw)
    assert caught.value.reason == reason
    assert caught.value.status == 400
