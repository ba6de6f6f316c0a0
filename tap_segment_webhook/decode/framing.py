"""Split decompressed input into JSON documents with their byte positions.

Input is either NDJSON (one document per line) or one JSON document that may span lines,
such as a pretty-printed batch envelope. The first line decides: when it parses on its own,
the input is NDJSON. Otherwise the whole input is parsed as one document, and if that fails
too, every line is tried on its own so that one bad line costs one reject.
"""

from __future__ import annotations

import dataclasses
import io
import typing as t

from tap_segment_webhook.decode.parse import parse_json

# Whole-document parsing reads the input into memory; NDJSON streams line by line.
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
# Some editors and Windows tools start UTF-8 files with a byte order mark, which is not JSON.
UTF8_BOM = b"\xef\xbb\xbf"


@dataclasses.dataclass(slots=True)
class Document:
    """One parsed JSON value and where it ended in the decompressed input."""

    value: t.Any
    line: int
    end_offset: int
    needs_repair: bool = False
    utf8_repairs: int = 0
    # True when the document is a whole input that is not NDJSON, so it cannot be resumed.
    whole_input: bool = False


@dataclasses.dataclass(slots=True)
class DecodeError:
    """Text that is not JSON, with its position, for the rejects file."""

    reason: str
    message: str
    line: int
    end_offset: int
    raw: bytes


Decoded = t.Union[Document, DecodeError]
# Reason of a last line that has no newline and is not valid JSON: a writer may still be
# appending to it, so it is left unread and its end offset is where it starts.
INCOMPLETE_LAST_LINE = "incomplete_last_line"


# Deepest nesting of objects and arrays a document may have. orjson cannot serialize values
# nested deeper than 254 levels, and no Segment message comes close.
MAX_NESTING = 200
TOO_DEEPLY_NESTED = "too_deeply_nested"


def nesting_depth(value: t.Any) -> int:
    """Return how deeply objects and arrays nest in a JSON value, without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _check_nesting(raw: bytes, value: t.Any) -> str | None:
    # Counting brackets in the text is cheap and rules out almost every document.
    if raw.count(b"{") + raw.count(b"[") <= MAX_NESTING:
        return None
    depth = nesting_depth(value)
    if depth <= MAX_NESTING:
        return None
    return f"objects and arrays nest {depth} levels deep; at most {MAX_NESTING} are accepted"


def _parse_line(raw: bytes, line: int, end_offset: int) -> Decoded:
    try:
        parsed = parse_json(raw)
        too_deep = _check_nesting(raw, parsed.value)
        if too_deep is not None:
            return DecodeError(TOO_DEEPLY_NESTED, too_deep, line, end_offset, raw.rstrip(b"\r\n"))
    except ValueError as error:
        if not raw.endswith(b"\n"):
            return DecodeError(INCOMPLETE_LAST_LINE, str(error), line, end_offset - len(raw), raw)
        return DecodeError("invalid_json", str(error), line, end_offset, raw.rstrip(b"\r\n"))
    return Document(parsed.value, line, end_offset, parsed.needs_repair, parsed.utf8_repairs)


def _is_blank(raw: bytes) -> bool:
    return not raw.strip()


def iter_lines(
    stream: t.BinaryIO,
    *,
    start_offset: int,
    first_line: int,
    complete_lines_only: bool,
) -> t.Iterator[Decoded]:
    """Parse each non-blank line of `stream`, which is positioned at `start_offset`.

    With `complete_lines_only`, a last line without a newline is left unread, because a
    writer may still be appending to it.
    """
    offset = start_offset
    line = first_line - 1
    for raw in stream:
        line += 1
        if complete_lines_only and not raw.endswith(b"\n"):
            return
        offset += len(raw)
        if _is_blank(raw):
            continue
        yield _parse_line(raw, line, offset)


def iter_documents(stream: t.BinaryIO) -> t.Iterator[Decoded]:
    """Yield the documents of a whole input read from its start, in NDJSON or single-document form."""
    first = b""
    skipped = 0
    line = 0
    # Leading blank lines do not decide the form.
    for raw in stream:
        line += 1
        if line == 1 and raw.startswith(UTF8_BOM):
            skipped += len(UTF8_BOM)
            raw = raw[len(UTF8_BOM) :]
        if not _is_blank(raw):
            first = raw
            break
        skipped += len(raw)
    if not first:
        return
    first_doc = _parse_line(first, line, skipped + len(first))
    if isinstance(first_doc, Document):
        yield first_doc
        yield from iter_lines(
            stream,
            start_offset=skipped + len(first),
            first_line=line + 1,
            complete_lines_only=False,
        )
        return
    rest = stream.read(MAX_DOCUMENT_BYTES)
    whole = first + rest
    end_offset = skipped + len(whole)
    if len(rest) < MAX_DOCUMENT_BYTES:
        try:
            parsed = parse_json(whole)
        except ValueError:
            pass
        else:
            too_deep = _check_nesting(whole, parsed.value)
            if too_deep is not None:
                yield DecodeError(TOO_DEEPLY_NESTED, too_deep, line, end_offset, whole)
                return
            yield Document(
                parsed.value, line, end_offset, parsed.needs_repair, parsed.utf8_repairs, whole_input=True
            )
            return
    # Neither NDJSON nor one document: each line is its own document or reject.
    offset = skipped
    for number, raw in enumerate(whole.splitlines(keepends=True), start=line):
        offset += len(raw)
        if not _is_blank(raw):
            yield _parse_line(raw, number, offset)
    if len(rest) == MAX_DOCUMENT_BYTES:
        yield from iter_lines(
            stream,
            start_offset=offset,
            first_line=line + whole.count(b"\n") + 1,
            complete_lines_only=False,
        )


def documents_from_bytes(data: bytes) -> list[Decoded]:
    """Decode a whole in-memory body, such as an HTTP request or a test fixture."""
    return list(iter_documents(io.BytesIO(data)))
