"""Decoding: exact numbers, framing, gzip detection and input resolution."""

import gzip
import io
from decimal import Decimal
from pathlib import Path

import pytest

from tap_segment_webhook.decode.framing import DecodeError, Document, documents_from_bytes, iter_documents, iter_lines
from tap_segment_webhook.decode.inputs import InputFile, InputNotFoundError, open_input, resolve_inputs
from tap_segment_webhook.decode.parse import dumps, parse_json


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"12345678901234567890123", Decimal("12345678901234567890123")),
        (b"0.1000000000000000055511151231257827", Decimal("0.1000000000000000055511151231257827")),
        (b"9223372036854775807", 9223372036854775807),
        (b"3.5", 3.5),
        (b"NaN", "NaN"),
        (b"-Infinity", "-Infinity"),
        (b"1e400", Decimal("1e400")),
    ],
)
def test_parse_json_keeps_numbers_exact(text: bytes, expected: object) -> None:
    parsed = parse_json(text)
    assert parsed.value == expected
    assert type(parsed.value) is type(expected)


def test_dumps_writes_exact_numbers() -> None:
    value = parse_json(b'{"big": 123456789012345678901234567890, "long": 0.12345678901234567890}').value
    assert dumps(value) == b'{"big":123456789012345678901234567890,"long":0.12345678901234567890}'


def test_parse_json_repairs_invalid_utf8() -> None:
    parsed = parse_json(b'{"a": "caf\xe9"}')
    assert parsed.value == {"a": "caf\ufffd"}
    assert parsed.utf8_repairs == 1
    assert parsed.needs_repair


def test_parse_json_flags_nul_escape() -> None:
    assert parse_json(b'{"a": "x\\u0000y"}').needs_repair


def test_parse_json_accepts_lone_surrogate() -> None:
    parsed = parse_json(b'{"a": "\\ud800"}')
    assert parsed.value == {"a": "\ud800"}
    assert parsed.needs_repair


def test_parse_json_rejects_invalid() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        parse_json(b"{not json")


def test_framing_ndjson_positions() -> None:
    data = b'{"a": 1}\n\n{"a": 2}\n[1]\n{bad\n'
    decoded = documents_from_bytes(data)
    assert [type(item) for item in decoded] == [Document, Document, Document, DecodeError]
    assert [item.line for item in decoded] == [1, 3, 4, 5]
    assert decoded[0].end_offset == 9
    assert decoded[-1].end_offset == len(data)


def test_framing_pretty_printed_document() -> None:
    data = b'{\n "batch": [\n  {"type": "track"}\n ]\n}\n'
    decoded = documents_from_bytes(data)
    assert len(decoded) == 1
    assert decoded[0].value == {"batch": [{"type": "track"}]}
    assert decoded[0].whole_input


def test_framing_broken_document_rejects_each_line() -> None:
    data = b'{\n "batch": [\n'
    decoded = documents_from_bytes(data)
    assert all(isinstance(item, DecodeError) for item in decoded)
    assert [item.line for item in decoded] == [1, 2]


def test_framing_blank_input() -> None:
    assert documents_from_bytes(b"\n \n") == []


def test_iter_lines_leaves_partial_last_line() -> None:
    data = b'{"a": 1}\n{"a": 2'
    decoded = list(iter_lines(io.BytesIO(data), start_offset=0, first_line=1, complete_lines_only=True))
    assert len(decoded) == 1


def test_iter_documents_reads_single_line_without_newline() -> None:
    decoded = list(iter_documents(io.BytesIO(b'{"a": 1}')))
    assert decoded[0].value == {"a": 1}


def test_gzip_found_by_magic_bytes(tmp_path: Path) -> None:
    path = tmp_path / "no-extension"
    path.write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    with open_input(InputFile(str(path))) as stream:
        values = [item.value for item in iter_documents(stream)]
    assert values == [{"a": 1}, {"a": 2}]


def test_gzip_resumes_at_decompressed_offset(tmp_path: Path) -> None:
    path = tmp_path / "events.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    with open_input(InputFile(str(path)), start_offset=9) as stream:
        values = [item.value for item in iter_lines(stream, start_offset=9, first_line=2, complete_lines_only=False)]
    assert values == [{"a": 2}]


def test_resolve_inputs_orders_and_deduplicates(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.json").write_text("{}")
    (tmp_path / "b" / "1.json").write_text("{}")
    (tmp_path / "a.ndjson").write_text("{}")
    (tmp_path / ".hidden").write_text("{}")
    resolved = resolve_inputs([str(tmp_path / "b"), str(tmp_path / "*.ndjson"), str(tmp_path / "b" / "1.json")])
    names = [Path(item.path).relative_to(tmp_path).as_posix() for item in resolved]
    assert names == ["b/1.json", "b/2.json", "a.ndjson"]


def test_resolve_inputs_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="Input path not found"):
        resolve_inputs([str(tmp_path / "nothing-*.json")])


def test_resolve_inputs_keeps_stdin() -> None:
    assert resolve_inputs(["-"]) == [InputFile("-")]


def test_framing_skips_byte_order_mark() -> None:
    data = b'\xef\xbb\xbf{"a": 1}\n{"a": 2}\n'
    decoded = documents_from_bytes(data)
    assert [item.value for item in decoded] == [{"a": 1}, {"a": 2}]
    assert decoded[-1].end_offset == len(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"2.5e-330", Decimal("2.5e-330")),
        (b"1.5e-20000", "1.5e-20000"),
        (b"1e200000", "1e200000"),
        (b"1" * 5000, Decimal("1" * 5000)),
    ],
)
def test_parse_json_numbers_beyond_float(text: bytes, expected: object) -> None:
    assert parse_json(text).value == expected


def test_framing_rejects_deep_nesting() -> None:
    deep = b'{"a":' * 250 + b"1" + b"}" * 250
    (decoded,) = documents_from_bytes(deep + b"\n")
    assert isinstance(decoded, DecodeError)
    assert decoded.reason == "too_deeply_nested"


def test_incomplete_last_line_is_left_unread() -> None:
    data = b'{"a": 1}\n{"a": 2, "b'
    decoded = documents_from_bytes(data)
    assert decoded[-1].reason == "incomplete_last_line"
    assert decoded[-1].end_offset == 9


def test_truncated_gzip_keeps_complete_lines(tmp_path: Path) -> None:
    lines = b"".join(b'{"n": %d}\n' % number for number in range(5000))
    compressed = gzip.compress(lines)
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    values = []
    with pytest.raises(EOFError):
        with open_input(InputFile(str(path))) as stream:
            for item in iter_documents(stream):
                values.append(item.value)
    assert values
    assert values == [{"n": number} for number in range(len(values))]


def test_gzip_members_and_padding(tmp_path: Path) -> None:
    path = tmp_path / "members.gz"
    path.write_bytes(gzip.compress(b'{"n": 1}\n') + gzip.compress(b'{"n": 2}\n') + b"\x00" * 8)
    with open_input(InputFile(str(path))) as stream:
        values = [item.value for item in iter_documents(stream)]
    assert values == [{"n": 1}, {"n": 2}]
