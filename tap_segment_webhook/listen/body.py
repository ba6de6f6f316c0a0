"""Request bodies: bounded decompression, exact JSON parsing, and archive line encoding.

Pure functions with no I/O.
"""

from __future__ import annotations

import decimal
import json
import typing as t
import zlib

import orjson

# zlib window bits: 16 + 15 reads a gzip stream, 15 a zlib (HTTP `deflate`) stream.
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_DEFLATE_WBITS = zlib.MAX_WBITS
_CHUNK_BYTES = 64 * 1024

# orjson writes integers only within this range, so larger ones are kept as their JSON text.
_MIN_INT64 = -(2**63)
_MAX_UINT64 = 2**64 - 1


class BodyError(ValueError):
    """A body that can never be accepted; `reason` is a snake_case code and `status` the HTTP status."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


class BigInteger(str):
    """The JSON text of an integer outside the 64-bit range, so it is written back unchanged."""

    __slots__ = ()


def decompress(data: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Decode `data` by its `Content-Encoding` without ever holding more than `max_bytes` output.

    Supports `gzip` (also `x-gzip`, and several concatenated gzip members), `deflate` and
    `identity`. Raises `BodyError` with status 413 past `max_bytes`, 415 for another encoding,
    and 400 for a corrupt stream.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity" or encoding == "":
        if len(data) > max_bytes:
            raise BodyError("body_too_large", f"body exceeds {max_bytes} bytes", 413)
        return data
    if encoding in ("gzip", "x-gzip"):
        wbits = _GZIP_WBITS
    elif encoding == "deflate":
        wbits = _DEFLATE_WBITS
    else:
        raise BodyError(
            "unsupported_content_encoding",
            f"Content-Encoding '{content_encoding}' is not supported; use gzip, deflate or identity",
            415,
        )
    return _inflate(data, wbits, max_bytes)


def _inflate(data: bytes, wbits: int, max_bytes: int) -> bytes:
    output = bytearray()
    pending = data
    while pending:
        inflater = zlib.decompressobj(wbits)
        try:
            while pending:
                # max_length bounds each step, so a small compressed input can never expand
                # past one chunk beyond the limit in memory.
                piece = inflater.decompress(pending, _CHUNK_BYTES)
                output += piece
                if len(output) > max_bytes:
                    raise BodyError(
                        "decompressed_body_too_large", f"decompressed body exceeds {max_bytes} bytes", 413
                    )
                pending = inflater.unconsumed_tail
                if inflater.eof:
                    break
            if not inflater.eof:
                raise BodyError("invalid_compressed_body", "compressed body is truncated")
        except zlib.error as error:
            raise BodyError("invalid_compressed_body", f"compressed body is corrupt: {error}") from error
        pending = inflater.unused_data
        if wbits != _GZIP_WBITS:
            # Only gzip allows several members back to back.
            if pending:
                raise BodyError("invalid_compressed_body", "bytes follow the end of the deflate stream")
            break
    return bytes(output)


def _parse_int(text: str) -> int | BigInteger:
    value = int(text)
    if _MIN_INT64 <= value <= _MAX_UINT64:
        return value
    return BigInteger(text)


def _reject_constant(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes) -> t.Any:
    """Parse one JSON document, keeping every number exact.

    Fractions become `decimal.Decimal` and integers past 64 bits become `BigInteger`, so
    `encode_line` writes them back with their original digits. NaN and Infinity are rejected.
    Raises `BodyError` for invalid UTF-8 or JSON.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyError("invalid_utf8", f"body is not valid UTF-8: {error}") from error
    try:
        return json.loads(
            text,
            parse_float=decimal.Decimal,
            parse_int=_parse_int,
            parse_constant=_reject_constant,
        )
    except ValueError as error:
        raise BodyError("invalid_json", f"body is not valid JSON: {error}") from error


def _encode_exact(value: object) -> orjson.Fragment:
    if isinstance(value, (decimal.Decimal, BigInteger)):
        return orjson.Fragment(str(value))
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def encode_line(message: dict[str, t.Any]) -> bytes:
    """Encode one message as a compact JSON line ending in a newline.

    JSON text may escape lone UTF-16 surrogates, which UTF-8 cannot hold, so strings with
    them are written with U+FFFD in their place.
    """
    return encode_value(message, orjson.OPT_APPEND_NEWLINE)


def encode_value(value: object, option: int = 0) -> bytes:
    """Encode a parsed JSON value as compact JSON, numbers exactly as parsed."""
    try:
        return _dumps(value, option)
    except orjson.JSONEncodeError:
        return _dumps(_replace_surrogates(value), option)


def _dumps(value: object, option: int) -> bytes:
    # BigInteger is a str subclass, so passthrough makes orjson hand it to _encode_exact.
    return orjson.dumps(value, default=_encode_exact, option=option | orjson.OPT_PASSTHROUGH_SUBCLASS)


def _replace_surrogates(value: t.Any) -> t.Any:
    if isinstance(value, BigInteger):
        return value
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_replace_surrogates(key): _replace_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    return value
