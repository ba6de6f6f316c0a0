"""The rejects file: input that cannot become a record, one JSON line each."""

from __future__ import annotations

import collections
import logging
import os
import re
import threading
import typing as t

import orjson

# Write keys are credentials: a reject never repeats one, even inside text that is not JSON.
_WRITE_KEY_VALUE = re.compile(r'("writeKey"\s*:\s*)"(?:[^"\\]|\\.)*"')

LOGGER = logging.getLogger("tap-segment-webhook.rejects")

# Raw text longer than this is cut in the rejects file, and the entry says so.
MAX_RAW_CHARS = 1_000_000


class RejectsWriter:
    """Append rejects to an NDJSON file from any thread, and count them by reason.

    The file is opened on the first reject, so a clean run leaves no empty file behind.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._file: t.BinaryIO | None = None

    def write(self, reason: str, source: dict[str, t.Any], raw: str | bytes) -> None:
        """Record one reject: `reason` is a short snake_case code, `source` names where it came from."""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        raw = _WRITE_KEY_VALUE.sub(r'\1"[redacted]"', raw)
        entry: dict[str, t.Any] = {"reason": reason, "source": source}
        if len(raw) > MAX_RAW_CHARS:
            entry["raw"] = raw[:MAX_RAW_CHARS]
            entry["raw_truncated_from_chars"] = len(raw)
        else:
            entry["raw"] = raw
        # Lone surrogates cannot be encoded as UTF-8, so they become U+FFFD here.
        entry["raw"] = entry["raw"].encode("utf-8", errors="replace").decode("utf-8")
        line = orjson.dumps(entry, default=str) + b"\n"
        with self._lock:
            self.counts[reason] += 1
            if self.path is None:
                return
            if self._file is None:
                directory = os.path.dirname(self.path)
                if directory:
                    os.makedirs(directory, exist_ok=True)
                self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()
                LOGGER.info("Writing rejected input to '%s'", self.path)
            self._file.write(line)

    def flush(self) -> None:
        """Flush buffered rejects to the operating system."""
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self) -> None:
        """Flush and close the file."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
