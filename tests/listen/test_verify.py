"""Signature and write-key checks."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from tap_segment_webhook.listen import verify

SECRET = b"s3cret"


def sign(data: bytes, secret: bytes = SECRET) -> str:
    return hmac.new(secret, data, hashlib.sha1).hexdigest()


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


SINGLE = b'{"type":"track","event":"A","properties":{"price":5.0}}'
FIRST = b'{"type":"track","event":"A \\"quoted\\" ] }","n":[1,{"x":"]"}]}'
ARRAY = b"[" + FIRST + b',{"type":"page"}]'
SPACED_ARRAY = b" \n[ \t" + FIRST + b" ,\n {\"type\":\"page\"} ]\n"


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        pytest.param(SINGLE, sign(SINGLE), True, id="single-event"),
        pytest.param(SINGLE, sign(SINGLE).upper(), True, id="upper-case-hex"),
        pytest.param(SINGLE, " " + sign(SINGLE) + " ", True, id="surrounding-space"),
        pytest.param(SINGLE + b" ", sign(SINGLE), False, id="body-changed"),
        pytest.param(SINGLE, sign(SINGLE, b"other"), False, id="other-secret"),
        pytest.param(SINGLE, None, False, id="missing-header"),
        pytest.param(SINGLE, "", False, id="empty-header"),
        pytest.param(SINGLE, "not-hex-at-all", False, id="bad-hex"),
        pytest.param(SINGLE, "é" * 40, False, id="non-ascii-header"),
        pytest.param(SINGLE, sign(SINGLE)[:-1], False, id="short-hex"),
        pytest.param(ARRAY, sign(ARRAY), True, id="array-whole-body"),
        pytest.param(ARRAY, sign(FIRST), True, id="array-first-element"),
        pytest.param(SPACED_ARRAY, sign(FIRST), True, id="array-first-element-with-whitespace"),
        pytest.param(ARRAY, sign(b'{"type":"page"}'), False, id="array-second-element"),
        pytest.param(b"[]", sign(b""), False, id="empty-array"),
        pytest.param(b'[{"a":1', sign(b'{"a":1'), False, id="truncated-array"),
        pytest.param(b'["x"]', sign(b'"x"'), True, id="string-first-element"),
        pytest.param(b"[12 , 3]", sign(b"12"), True, id="number-first-element"),
    ],
)
def test_verify_signature_cases(body: bytes, header: str | None, expected: bool) -> None:
    assert verify.verify_signature(SECRET, body, header) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (ARRAY, FIRST),
        (SPACED_ARRAY, FIRST),
        (b'[{"s":"\\\\"},1]', b'{"s":"\\\\"}'),
        (b'[[1,[2]],3]', b"[1,[2]]"),
        (b'{"a":1}', None),
        (b"[ ]", None),
        (b'[{"a":1}x', None),
        (b'["unterminated]', None),
        (b"", None),
    ],
)
def test_first_array_element_span(raw: bytes, expected: bytes | None) -> None:
    assert verify.first_array_element(raw) == expected


def test_require_signature_raises_typed_errors() -> None:
    with pytest.raises(verify.SignatureError, match="missing"):
        verify.require_signature(SECRET, SINGLE, None)
    with pytest.raises(verify.SignatureError, match="does not match"):
        verify.require_signature(SECRET, SINGLE, "00" * 20)
    verify.require_signature(SECRET, SINGLE, sign(SINGLE))


@pytest.mark.parametrize(
    ("authorization", "body_key", "expected"),
    [
        pytest.param(basic("wk1"), None, True, id="basic-user"),
        pytest.param(basic("wk2", "ignored"), None, True, id="basic-user-with-password"),
        pytest.param("basic " + base64.b64encode(b"wk1:").decode(), None, True, id="lower-case-scheme"),
        pytest.param(basic("nope"), None, False, id="unknown-key"),
        pytest.param(basic("", "wk1"), None, False, id="key-as-password"),
        pytest.param("Basic !!!notbase64", None, False, id="bad-base64"),
        pytest.param("Bearer wk1", None, False, id="bearer-scheme"),
        pytest.param(None, "wk1", True, id="body-key"),
        pytest.param(None, "nope", False, id="unknown-body-key"),
        pytest.param(None, 12, False, id="body-key-not-string"),
        pytest.param(None, "", False, id="empty-body-key"),
        pytest.param(None, None, False, id="no-key"),
        pytest.param(basic("nope"), "wk1", True, id="body-key-after-bad-header"),
    ],
)
def test_check_write_key_cases(authorization: str | None, body_key: object, expected: bool) -> None:
    assert verify.check_write_key({"wk1", "wk2"}, authorization, body_key) is expected


def test_require_write_key_raises_typed_error() -> None:
    with pytest.raises(verify.WriteKeyError):
        verify.require_write_key({"wk1"}, None, None)
    assert issubclass(verify.WriteKeyError, verify.AuthenticationError)
    assert issubclass(verify.SignatureError, verify.AuthenticationError)
