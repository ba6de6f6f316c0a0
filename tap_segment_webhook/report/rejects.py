"""The rejects file: input that cannot become a record, one JSON line each."""

from __future__ import annotations

import collections
import logging
import os
import re
import threading
import typing as t

import orjson

# Write keys are credentials: a reject does not repeat one, even inside text that is not JSON.
# The patterns cover quoted keys spelled writeKey, write_key or write-key in any case with a
# quoted value, and `writeKey=value` pairs. Configured secrets are also replaced wherever they
# appear.
_QUOTED_WRITE_KEY = re.compile(
    r"""(["']write[_-]?key["']\s*:\s*)(["'])(?:(?!\2)[^\\]|\\.)*\2""", re.IGNORECASE
)
_BARE_WRITE_KEY = re.compile(r"(write[_-]?key\s*=\s*)[^\s&,;\"']+", re.IGNORECASE)
REDACTED = "[redacted]"

LOGGER = logging.getLogger("tap-segment-webhook.rejects")

# Raw text longer than this is cut in the rejects file, and the entry records the original length.
MAX_RAW_CHARS = 1_000_000


class RejectsFileError(OSError):
    """The rejects file cannot be created or written."""


class RejectsWriter:
    """Append rejects to an NDJSON file from any thread, and count them by reason.

    The file is opened on the first reject, so a clean run leaves no empty file behind.
    """

    def __init__(self, path: str | os.PathLike[str] | None, secrets: t.Iterable[str] = ()) -> None:
        self.path = os.fspath(path) if path is not None else None
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._file: t.BinaryIO | None = None

    def write(self, reason: str, source: dict[str, t.Any], raw: str | bytes) -> None:
        """Record one reject: `reason` is a short snake_case code, `source` names where it came from."""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        raw = self.redact(raw)
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
            try:
                if self._file is None:
                    directory = os.path.dirname(self.path)
                    if directory:
                        os.makedirs(directory, exist_ok=True)
                    self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()
                    LOGGER.info("Writing rejected input to '%s'", self.path)
                self._file.write(line)
            except OSError as error:
                msg = f"cannot write the rejects file '{self.path}': {error}. Check 'rejects_path' in the config."
                raise RejectsFileError(msg) from error

    def redact(self, text: str) -> str:
        """Replace write keys and configured secrets in text with a placeholder."""
        text = _QUOTED_WRITE_KEY.sub(lambda match: f"{match.group(1)}{match.group(2)}{REDACTED}{match.group(2)}", text)
        text = _BARE_WRITE_KEY.sub(lambda match: match.group(1) + REDACTED, text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def flush(self) -> None:
        """Flush buffered rejects to the operating system."""
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self) -> None:
        """Flush and close the file."""
        with self._lock:
            if self._file is not None:
                handle, self._file = self._file, None
                try:
                    handle.close()
                except OSError as error:
                    msg = f"cannot write the rejects file '{self.path}': {error}. Check 'rejects_path' in the config."
                    raise RejectsFileError(msg) from error
