"""Request authentication: Segment's X-Signature and Tracking API write keys.

Pure functions with no I/O. Every comparison of a secret value uses `hmac.compare_digest`,
so the time taken does not reveal how many leading characters matched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

_JSON_WHITESPACE = b" \t\r\n"


class AuthenticationError(Exception):
    """A request carries no valid credential, so the listener responds 401."""


class SignatureError(AuthenticationError):
    """The X-Signature header is missing or does not match the body."""


class WriteKeyError(AuthenticationError):
    """No accepted write key was found in the Authorization header or the body."""


def verify_signature(
    secret: bytes, raw_body: bytes, signature_header: str | None, *, first_element: bool = True
) -> bool:
    """Check a hex HMAC-SHA1 signature of `raw_body`, keyed by `secret`.

    Segment signs the body exactly as it sends it. Webhooks (Actions) with batching on sends a
    JSON array and signs only its first element. So with `first_element` true, the signature of
    an array may also cover the raw bytes of element 0, which are found by scanning the body
    rather than by re-serialising it. That signature does not cover the other elements, so
    anyone holding one signed event can append unsigned events to it.
    """
    if signature_header is None:
        return False
    received = signature_header.strip().lower().encode("utf-8", errors="replace")
    if not received:
        return False
    if hmac.compare_digest(_hex_hmac_sha1(secret, raw_body), received):
        return True
    if not first_element:
        return False
    span = first_array_element(raw_body)
    if span is None:
        return False
    return hmac.compare_digest(_hex_hmac_sha1(secret, span), received)


def require_signature(
    secret: bytes, raw_body: bytes, signature_header: str | None, *, first_element: bool = True
) -> None:
    """Raise `SignatureError` unless `verify_signature` accepts the request."""
    if signature_header is None:
        raise SignatureError("missing X-Signature header")
    if not verify_signature(secret, raw_body, signature_header, first_element=first_element):
        raise SignatureError("X-Signature does not match the request body")


def _hex_hmac_sha1(secret: bytes, data: bytes) -> bytes:
    return hmac.new(secret, data, hashlib.sha1).hexdigest().encode("ascii")


def first_array_element(raw: bytes) -> bytes | None:
    """Return the exact bytes of the first element of a JSON array, or None.

    Returns None when `raw` is not an array, the array is empty, or the first element is
    not well-formed enough to find its end. The span excludes the whitespace around it.
    """
    length = len(raw)
    position = _skip_whitespace(raw, 0)
    if position >= length or raw[position] != ord("["):
        return None
    start = _skip_whitespace(raw, position + 1)
    if start >= length or raw[start] == ord("]"):
        return None
    end = _end_of_value(raw, start)
    if end is None:
        return None
    after = _skip_whitespace(raw, end)
    if after >= length or raw[after] not in b",]":
        return None
    return raw[start:end]


def _skip_whitespace(raw: bytes, position: int) -> int:
    length = len(raw)
    while position < length and raw[position] in _JSON_WHITESPACE:
        position += 1
    return position


def _end_of_value(raw: bytes, start: int) -> int | None:
    """Return the offset just past the JSON value that starts at `start`, or None."""
    first = raw[start]
    if first == ord('"'):
        return _end_of_string(raw, start)
    if first in b"{[":
        return _end_of_container(raw, start)
    # A number, true, false or null runs until a delimiter.
    position = start
    length = len(raw)
    while position < length and raw[position] not in b",]}" and raw[position] not in _JSON_WHITESPACE:
        position += 1
    return position if position > start else None


def _end_of_string(raw: bytes, start: int) -> int | None:
    position = start + 1
    length = len(raw)
    while position < length:
        byte = raw[position]
        if byte == ord("\\"):
            position += 2
            continue
        if byte == ord('"'):
            return position + 1
        position += 1
    return None


def _end_of_container(raw: bytes, start: int) -> int | None:
    # Brackets inside strings do not count, so strings are skipped whole.
    depth = 0
    position = start
    length = len(raw)
    while position < length:
        byte = raw[position]
        if byte == ord('"'):
            end = _end_of_string(raw, position)
            if end is None:
                return None
            position = end
            continue
        if byte in b"{[":
            depth += 1
        elif byte in b"}]":
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    return None


def write_key_from_authorization(authorization_header: str | None) -> str | None:
    """Return the user name of an HTTP Basic `Authorization` header, or None.

    Segment's libraries send `Basic base64("<writeKey>:")`, so the write key is the user name.
    """
    if not authorization_header:
        return None
    scheme, _, credentials = authorization_header.strip().partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except ValueError:
        # binascii.Error and UnicodeDecodeError are ValueErrors, and b64decode raises a plain
        # ValueError for characters outside ASCII.
        return None
    user, _, _password = decoded.partition(":")
    return user or None


def check_write_key(
    accepted: Iterable[str],
    authorization_header: str | None,
    body_write_key: object,
) -> bool:
    """Check that the Basic user name or the body's `writeKey` is one of `accepted`.

    Every accepted key is compared, so the time taken does not depend on which one matched.
    """
    candidates = []
    header_key = write_key_from_authorization(authorization_header)
    if header_key is not None:
        candidates.append(header_key)
    if isinstance(body_write_key, str) and body_write_key:
        candidates.append(body_write_key)
    matched = False
    for candidate in candidates:
        encoded = candidate.encode("utf-8", errors="replace")
        for key in accepted:
            matched |= hmac.compare_digest(encoded, key.encode("utf-8", errors="replace"))
    return matched


def require_write_key(
    accepted: Iterable[str],
    authorization_header: str | None,
    body_write_key: object,
) -> None:
    """Raise `WriteKeyError` unless `check_write_key` accepts the request."""
    if not check_write_key(accepted, authorization_header, body_write_key):
        raise WriteKeyError("missing or unknown write key")
