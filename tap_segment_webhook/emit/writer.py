"""The one writer of Singer messages: SCHEMA, RECORD and STATE for every stream, to stdout."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
import typing as t

import orjson

from tap_segment_webhook.decode.parse import default_for_orjson

# Tests replace this to freeze `time_extracted`.
clock: t.Callable[[], float] = time.time
_FLUSH_BYTES = 256 * 1024


class OutputClosedError(RuntimeError):
    """The reader of stdout, normally the target, closed the pipe before the tap finished."""


def _rfc3339(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class SingerWriter:
    """Serialize Singer messages with orjson into a byte buffer flushed to `output`."""

    def __init__(self, output: t.BinaryIO) -> None:
        self.output = output
        try:
            output.flush()
            # Raw writes: Python's buffered writer can lose part of a message when a signal
            # interrupts a write to a full pipe, so complete writes are looped here instead.
            self._fd: int | None = output.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._fd = None
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._extracted_second = -1
        self._extracted_suffix = b""
        self.records_written = 0
        self.closed = False

    def _time_extracted_suffix(self) -> bytes:
        now = clock()
        second = int(now)
        if second != self._extracted_second:
            self._extracted_second = second
            self._extracted_suffix = b',"time_extracted":"' + _rfc3339(now).encode() + b'"}\n'
        return self._extracted_suffix

    def _append(self, line: bytes) -> None:
        self._buffer.append(line)
        self._buffered += len(line)
        if self._buffered >= _FLUSH_BYTES:
            self.flush()

    def write_schema(self, stream: str, schema: dict[str, t.Any], key_properties: t.Sequence[str]) -> None:
        message = {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": list(key_properties)}
        self._append(orjson.dumps(message) + b"\n")

    def write_record(self, stream: str, record: dict[str, t.Any]) -> None:
        self.records_written += 1
        self._append(
            b'{"type":"RECORD","stream":"'
            + stream.encode()
            + b'","record":'
            + orjson.dumps(record, default=default_for_orjson)
            + self._time_extracted_suffix()
        )

    def write_state(self, value: dict[str, t.Any]) -> None:
        self._append(orjson.dumps({"type": "STATE", "value": value}, default=default_for_orjson) + b"\n")

    def flush(self) -> None:
        """Write the buffered messages to the output and flush it."""
        if not self._buffer or self.closed:
            return
        data = b"".join(self._buffer)
        self._buffer.clear()
        self._buffered = 0
        try:
            if self._fd is None:
                self.output.write(data)
                self.output.flush()
                return
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except BrokenPipeError as error:
            self.closed = True
            msg = "stdout was closed before the tap finished (did the target exit?); the last messages were not written"
            raise OutputClosedError(msg) from error
