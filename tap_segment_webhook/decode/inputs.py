"""Find replay inputs and open them, decompressing gzip found by its magic bytes."""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import io
import logging
import os
import sys
import typing as t
import zlib

LOGGER = logging.getLogger("tap-segment-webhook.inputs")
GZIP_MAGIC = b"\x1f\x8b"
STDIN_PATH = "-"
# Bytes hashed at the start of a file, and just before a resume offset, to recognise it.
FINGERPRINT_BYTES = 64 * 1024
RESUME_CHECK_BYTES = 4 * 1024
# Names of files that are never payloads, such as editor and OS leftovers.
_IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db"})


class InputNotFoundError(FileNotFoundError):
    """A configured input path matches no file."""


@dataclasses.dataclass(frozen=True, slots=True)
class InputFile:
    """One replay input: a file path, or `-` for standard input."""

    path: str

    @property
    def is_stdin(self) -> bool:
        return self.path == STDIN_PATH


def _walk(folder: str) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name in _IGNORED_NAMES:
                continue
            path = os.path.join(root, name)
            # A FIFO or socket in a folder would block the run, so it is skipped. A dangling
            # link is kept, so that the run reports it as unreadable instead of losing it silently.
            if os.path.exists(path) and not os.path.isfile(path):
                LOGGER.warning("Skipping '%s' in folder '%s': not a regular file", name, root)
                continue
            found.append(path)
    return found


def resolve_inputs(patterns: t.Sequence[str]) -> list[InputFile]:
    """Expand files, folders (recursively) and globs into files in a deterministic order.

    Each pattern keeps its place in the order given; files within a folder or glob are sorted
    by path. A file named by two patterns is read once. Raises `InputNotFoundError` when a
    pattern matches nothing.
    """
    resolved: list[InputFile] = []
    seen: set[str] = set()
    for pattern in patterns:
        if pattern == STDIN_PATH:
            matches = [STDIN_PATH]
        elif os.path.isdir(pattern):
            matches = _walk(pattern)
        elif os.path.isfile(pattern):
            matches = [pattern]
        else:
            matches = []
            for match in sorted(glob.glob(pattern, recursive=True)):
                matches.extend(_walk(match) if os.path.isdir(match) else [match])
            if not matches:
                msg = f"Input path not found: '{pattern}'. Check 'input_paths' in the config."
                raise InputNotFoundError(msg)
        for match in matches:
            key = match if match == STDIN_PATH else os.path.abspath(match)
            if key not in seen:
                seen.add(key)
                resolved.append(InputFile(key))
    return resolved


class GzipStream(io.RawIOBase):
    """Decompress gzip data, including several concatenated members, as it is read.

    Unlike `gzip.GzipFile`, every byte decompressed before a truncation or corruption is
    returned first; the error (`EOFError` or `zlib.error`) is raised by the read after it.
    """

    def __init__(self, compressed: t.BinaryIO, chunk_size: int = 256 * 1024) -> None:
        self._compressed = compressed
        self._chunk_size = chunk_size
        self._decompressor = zlib.decompressobj(wbits=31)
        self._input = b""
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def _next_member(self) -> bool:
        """Start the next gzip member after a finished one; return False at the clean end."""
        rest = self._decompressor.unused_data
        while not rest.lstrip(b"\x00"):
            more = self._compressed.read(self._chunk_size)
            if not more:
                return False
            rest += more
        self._decompressor = zlib.decompressobj(wbits=31)
        self._input = rest.lstrip(b"\x00")
        return True

    def _fill(self) -> None:
        while not self._pending and not self._done:
            if self._decompressor.eof and not self._next_member():
                self._done = True
                return
            if not self._input:
                self._input = self._compressed.read(self._chunk_size)
                if not self._input:
                    self._done = True
                    msg = "compressed data ended before the end of the gzip stream"
                    raise EOFError(msg)
            self._pending = self._decompressor.decompress(self._input, self._chunk_size * 4)
            self._input = self._decompressor.unconsumed_tail

    def readinto(self, buffer: t.Any) -> int:
        self._fill()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def is_gzip_file(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


@contextlib.contextmanager
def open_input(item: InputFile, start_offset: int = 0) -> t.Iterator[t.BinaryIO]:
    """Open an input for reading decompressed bytes from `start_offset`.

    Gzip input cannot seek, so it is decompressed and discarded up to the offset.
    """
    if item.is_stdin:
        raw = sys.stdin.buffer
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        if head == GZIP_MAGIC:
            yield t.cast(t.BinaryIO, io.BufferedReader(GzipStream(t.cast(t.BinaryIO, raw)), 1024 * 1024))
        else:
            yield raw
        return
    with open(item.path, "rb") as handle:
        if handle.read(2) == GZIP_MAGIC:
            handle.seek(0)
            stream = io.BufferedReader(GzipStream(handle), 1024 * 1024)
            remaining = start_offset
            while remaining > 0:
                chunk = stream.read(min(remaining, 1024 * 1024))
                if not chunk:
                    break
                remaining -= len(chunk)
            yield t.cast(t.BinaryIO, stream)
            return
        handle.seek(start_offset)
        yield handle


def _hash_range(path: str, start: int, length: int) -> str:
    with open(path, "rb") as handle:
        handle.seek(start)
        return hashlib.sha256(handle.read(length)).hexdigest()[:32]


def fingerprint(path: str) -> str:
    """Hash the first bytes of a file, so a rewritten file is not taken for a grown one."""
    return _hash_range(path, 0, FINGERPRINT_BYTES)


def fingerprint_prefix(path: str, length: int) -> str:
    """Hash the first `length` bytes, for comparing a grown file with its recorded start."""
    return _hash_range(path, 0, min(length, FINGERPRINT_BYTES))


def resume_check(path: str, offset: int) -> str:
    """Hash the bytes just before `offset`, the last part of the input already emitted."""
    start = max(0, offset - RESUME_CHECK_BYTES)
    return _hash_range(path, start, offset - start)
