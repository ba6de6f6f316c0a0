"""Body decompression limits, exact JSON parsing and line encoding."""

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


def test_parse_and_encode_keep_numbers_exact() -> None:
    raw = b'{"a":1.50,"b":123456789012345678901234567890,"c":-5,"d":1e400,"e":0.1000000000000000055511151231257827}'
    assert body.encode_line(body.parse_json(raw)) == (
        b'{"a":1.50,"b":123456789012345678901234567890,"c":-5,"d":1E+400,"e":0.1000000000000000055511151231257827}\n'
    )


def test_encode_replaces_lone_surrogates() -> None:
    value = body.parse_json(b'{"s":"a\\ud800b","ok":"\\ud83d\\ude00"}')
    assert body.encode_line(value) == '{"s":"a\ufffdb","ok":"\U0001f600"}\n'.encode()


def test_parse_strips_byte_order_mark() -> None:
    assert body.parse_json(b'\xef\xbb\xbf{"a":1}') == {"a": 1}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{bad", "invalid_json"),
        (b"", "invalid_json"),
        (b'{"a":NaN}', "invalid_json"),
        (b'{"a":1} {"b":2}', "invalid_json"),
        (b'{"a":"\xff"}', "invalid_utf8"),
    ],
)
def test_parse_rejects_invalid_bodies(raw: bytes, reason: str) -> None:
    with pytest.raises(body.BodyError) as caught:
        body.parse_json(raw)
    assert caught.value.reason == reason
    assert caught.value.status == 400
