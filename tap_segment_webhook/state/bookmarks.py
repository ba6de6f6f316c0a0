"""Replay bookmarks: for each input file, what was read and how to recognise it again.

A bookmark contains the file's fingerprint (a hash of its first bytes), its size, the byte offset
just after the last whole document emitted, and a hash of the bytes before that offset. A rerun
skips a finished file whose size and fingerprint match, resumes an NDJSON file that grew at the
offset, and reads a changed file from the start.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import typing as t

from tap_segment_webhook.decode.inputs import (
    FINGERPRINT_BYTES,
    InputFile,
    fingerprint_prefix,
    is_gzip_file,
    resume_check,
)

LOGGER = logging.getLogger("tap-segment-webhook.state")


@dataclasses.dataclass
class ReadPlan:
    """The start position for reading one input, or a mark that it is already finished."""

    skip: bool
    start_offset: int = 0
    next_line: int = 1
    # True when the last run left an incomplete last line and the file has not changed since,
    # so that line is final and is rejected instead of being left for later again.
    tail_is_final: bool = False


class FileBookmarks:
    """Bookmarks of all replayed files, keyed by absolute path."""

    def __init__(self, files: dict[str, dict[str, t.Any]] | None = None) -> None:
        self.files: dict[str, dict[str, t.Any]] = dict(files or {})

    def plan(self, item: InputFile) -> ReadPlan:
        """Decide how to read an input given its bookmark; an invalid bookmark means from the start."""
        if item.is_stdin:
            return ReadPlan(skip=False)
        bookmark = self.files.get(item.path)
        if bookmark is None:
            return ReadPlan(skip=False)
        try:
            return self._plan_from(item, bookmark)
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            LOGGER.warning("Invalid STATE bookmark for input '%s' (%s); reading it from the start", item.path, error)
            return ReadPlan(skip=False)

    def _plan_from(self, item: InputFile, bookmark: dict[str, t.Any]) -> ReadPlan:
        size = os.path.getsize(item.path)
        head_bytes = bookmark.get("fingerprint_bytes", FINGERPRINT_BYTES)
        if size < head_bytes or fingerprint_prefix(item.path, head_bytes) != bookmark.get("fingerprint"):
            LOGGER.info("Input '%s' changed since the last run; reading it from the start", item.path)
            return ReadPlan(skip=False)
        if bookmark.get("done") and size == bookmark.get("size"):
            return ReadPlan(skip=True)
        if bookmark.get("damaged") and size == bookmark.get("size"):
            LOGGER.warning("Skipping input '%s': its gzip data is damaged, as in the last run", item.path)
            return ReadPlan(skip=True)
        offset = int(bookmark.get("offset", 0))
        if not 0 <= offset <= size:
            msg = f"offset {offset} is outside the file's {size} bytes"
            raise ValueError(msg)
        tail_is_final = bookmark.get("pending_tail_size") == size
        if tail_is_final and not bookmark.get("ndjson", False):
            return ReadPlan(skip=False, tail_is_final=True)
        if not bookmark.get("ndjson", False) or size < bookmark.get("size", 0):
            LOGGER.info("Input '%s' changed since the last run; reading it from the start", item.path)
            return ReadPlan(skip=False)
        if not bookmark.get("gzip") and resume_check(item.path, offset) != bookmark.get("resume_check"):
            LOGGER.info("Input '%s' changed before its bookmark; reading it from the start", item.path)
            return ReadPlan(skip=False)
        LOGGER.info("Resuming input '%s' at byte %d", item.path, offset)
        return ReadPlan(
            skip=False, start_offset=offset, next_line=int(bookmark.get("line", 0)) + 1, tail_is_final=tail_is_final
        )

    def begin(self, item: InputFile, plan: ReadPlan) -> None:
        """Start the bookmark of an input about to be read."""
        if item.is_stdin:
            return
        size = os.path.getsize(item.path)
        head_bytes = min(size, FINGERPRINT_BYTES)
        previous = self.files.get(item.path, {}) if plan.start_offset else {}
        self.files[item.path] = {
            "fingerprint": fingerprint_prefix(item.path, head_bytes),
            "fingerprint_bytes": head_bytes,
            "size": size,
            "gzip": is_gzip_file(item.path),
            "ndjson": previous.get("ndjson", True),
            "offset": plan.start_offset,
            "line": plan.next_line - 1,
            "resume_check": previous.get("resume_check"),
            "done": False,
        }

    def advance(self, item: InputFile, offset: int, line: int, *, whole_input: bool = False) -> None:
        """Move an input's bookmark past the document that ended at `offset`."""
        bookmark = self.files.get(item.path)
        if bookmark is None:
            return
        bookmark["offset"] = offset
        bookmark["line"] = line
        if whole_input:
            bookmark["ndjson"] = False

    def mark_pending_tail(self, item: InputFile) -> None:
        """Record the size at which an input ended with an incomplete last line."""
        bookmark = self.files.get(item.path)
        if bookmark is not None:
            bookmark["pending_tail_size"] = os.path.getsize(item.path)

    def mark_damaged(self, item: InputFile) -> None:
        """Record that an input's compressed data is damaged, so an unchanged copy is not read again."""
        bookmark = self.files.get(item.path)
        if bookmark is not None:
            bookmark["damaged"] = True
            bookmark["size"] = os.path.getsize(item.path)

    def finish(self, item: InputFile) -> None:
        bookmark = self.files.get(item.path)
        if bookmark is None:
            return
        bookmark["done"] = True
        bookmark["size"] = os.path.getsize(item.path)

    def to_dict(self) -> dict[str, dict[str, t.Any]]:
        """Return the bookmarks for STATE, with the resume hash brought up to date."""
        for path, bookmark in self.files.items():
            if bookmark.get("gzip") or not os.path.exists(path):
                continue
            offset = bookmark.get("offset", 0)
            if bookmark.get("resume_check_offset") == offset:
                continue
            try:
                bookmark["resume_check"] = resume_check(path, int(offset))
                bookmark["resume_check_offset"] = offset
            except (TypeError, ValueError, OSError) as error:
                # A bookmark carried over unread from an edited STATE; the next run re-reads it.
                LOGGER.warning("Invalid STATE bookmark for input '%s' (%s)", path, error)
        return self.files
