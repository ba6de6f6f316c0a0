"""Request bodies: bounded decompression, JSON parsing that keeps number text, and line encoding.

Pure functions with no I/O.
"""

from __future__ import annotations

import json
import typing as t
import zlib

import orjson

from tap_segment_webhook.decode.framing import MAX_NESTING

# zlib window bits: 16 + 15 reads a gzip stream, 15 a zlib (HTTP `deflate`) stream.
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_DEFLATE_WBITS = zlib.MAX_WBITS
_CHUNK_BYTES = 64 * 1024

# Replay's decoder rejects deeper messages, so nothing acknowledged here is rejected there; it
# is also below the 255 containers at which orjson 3.x stops encoding.
MAX_NESTING_DEPTH = MAX_NESTING


class BodyError(ValueError):
    """A body that can never be accepted; `reason` is a snake_case code and `status` the HTTP status."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


class NumberText:
    """A JSON number, or NaN, Infinity or -Infinity, kept as the text the sender wrote.

    The listener never computes with numbers, so it archives their text unchanged and the
    replay decoder alone decides what each number becomes.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NumberText) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"NumberText({self.text!r})"
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


def parse_json(data: bytes) -> t.Any:
    """Parse one JSON document, keeping every number as its text.

    Numbers, and the NaN, Infinity and -Infinity that the replay decoder also accepts, become
    `NumberText`, so `encode_line` writes them back exactly as received. A leading UTF-8 byte
    order mark is skipped. Raises `BodyError` for invalid UTF-8, invalid JSON, or nesting
    deeper than Python's recursion limit allows to parse.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyError("invalid_utf8", f"body is not valid UTF-8: {error}") from error
    try:
        return json.loads(text, parse_float=NumberText, parse_int=NumberText, parse_constant=NumberText)
    except RecursionError as error:
        raise BodyError("too_deeply_nested", "body is nested too deeply to parse") from error
    except ValueError as error:
        raise BodyError("invalid_json", f"body is not valid JSON: {error}") from error


def _number_fragment(value: object) -> orjson.Fragment:
    if isinstance(value, NumberText):
        return orjson.Fragment(value.text)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def encode_line(message: dict[str, t.Any]) -> bytes:
    """Encode one message as a compact JSON line ending in a newline.

    JSON text may escape lone UTF-16 surrogates, which UTF-8 cannot hold, so strings with
    them are written with U+FFFD in their place. Raises `BodyError` with reason
    `too_deeply_nested` when the message is nested deeper than `MAX_NESTING_DEPTH`.
    """
    return encode_value(message, orjson.OPT_APPEND_NEWLINE)


def encode_value(value: object, option: int = 0) -> bytes:
    """Encode a parsed JSON value as compact JSON, numbers as received.

    Raises `BodyError` with reason `too_deeply_nested` past `MAX_NESTING_DEPTH`.
    """
    try:
        encoded = _dumps(value, option)
    except orjson.JSONEncodeError:
        pass
    else:
        # Counting brackets is cheap and rules out almost every message before the depth walk.
        if encoded.count(b"[") + encoded.count(b"{") <= MAX_NESTING_DEPTH:
            return encoded
        depth = nesting_depth(value)
        if depth <= MAX_NESTING_DEPTH:
            return encoded
        raise BodyError(
            "too_deeply_nested", f"a message is nested {depth} levels deep; at most {MAX_NESTING_DEPTH} are accepted"
        )
    # The value either contains lone surrogates or is nested too deeply. The depth is
    # checked first because the surrogate repair below recurses.
    depth = nesting_depth(value)
    if depth > MAX_NESTING_DEPTH:
        raise BodyError(
            "too_deeply_nested", f"a message is nested {depth} levels deep; at most {MAX_NESTING_DEPTH} are accepted"
        )
    return _dumps(_replace_surrogates(value), option)


def encode_for_rejects(value: object) -> bytes:
    """Encode a parsed JSON value for the rejects file, also when it is nested too deeply to archive."""
    try:
        return encode_value(value)
    except BodyError:
        return _encode_without_recursion(value)


def nesting_depth(value: object) -> int:
    """Return how many arrays and objects are nested in `value`, counted without recursion."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: t.Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        pending.extend((child, depth) for child in children)
    return deepest


def _dumps(value: object, option: int) -> bytes:
    return orjson.dumps(value, default=_number_fragment, option=option)


def _replace_surrogates(value: t.Any) -> t.Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_replace_surrogates(key): _replace_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    return value


class _Text(str):
    """JSON text already encoded, pushed onto the stack of `_encode_without_recursion`."""

    __slots__ = ()


def _encode_without_recursion(value: object) -> bytes:
    # json.dumps escapes lone surrogates as \uXXXX, so every string part is valid JSON text.
    parts: list[str] = []
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, _Text):
            parts.append(item)
        elif isinstance(item, NumberText):
            parts.append(item.text)
        elif isinstance(item, dict):
            members: list[object] = [_Text("{")]
            for index, (key, child) in enumerate(item.items()):
                members.append(_Text(("," if index else "") + json.dumps(key) + ":"))
                members.append(child)
            members.append(_Text("}"))
            pending.extend(reversed(members))
        elif isinstance(item, list):
            elements: list[object] = [_Text("[")]
            for index, child in enumerate(item):
                if index:
                    elements.append(_Text(","))
                elements.append(child)
            elements.append(_Text("]"))
            pending.extend(reversed(elements))
        else:
            parts.append(json.dumps(item))
    return "".join(parts).encode("utf-8")
