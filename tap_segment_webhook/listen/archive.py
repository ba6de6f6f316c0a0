"""The capture archive: append-only NDJSON segment files with group commit.

Each accepted request appends its messages, one compact JSON object per line, to the current
segment file of this process, then waits for an fsync that covers its bytes. Requests that
arrive while an fsync runs share the next one, so a burst of requests costs a few fsyncs
rather than one each. `append` returns only after that fsync succeeded, and only then may the
listener respond with 2xx.

Segment names are `segment-<UTC yyyymmddThhmmss.fffZ>-<host>-<pid>-<seq>.ndjson`. Sorting the
names gives the order in which they were started, also across processes that share one folder,
because the time comes first and this process never issues a name that sorts before its
previous one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import logging
import os
import re
import socket
import time
import typing as t

LOGGER = logging.getLogger("tap-segment-webhook.listen.archive")

SEGMENT_PREFIX = "segment-"
SEGMENT_SUFFIX = ".ndjson"
SEGMENT_NAME_PATTERN = re.compile(r"^segment-\d{8}T\d{6}\.\d{3}Z-[A-Za-z0-9.-]+-\d+-\d{6,}\.ndjson$")

# Segment files may hold personal data, so other users get no access.
_FILE_MODE = 0o640
# How often the folder is rescanned for the size budget and free disk space is rechecked.
_USAGE_REFRESH_SECONDS = 5.0
# An error of one kind is logged at most once in this many seconds, and the repeats are counted.
_ERROR_LOG_INTERVAL_SECONDS = 10.0


class ArchiveError(Exception):
    """The archive cannot store the request now; the listener responds 503 so the sender retries."""


class ArchiveFull(ArchiveError):
    """The archive budget or the disk's free-space reserve would be exceeded."""


class ArchiveUnavailable(ArchiveError):
    """Writing, syncing or creating a segment file failed, or the archive is closed."""


@dataclasses.dataclass(eq=False)
class _Segment:
    name: str
    path: str
    fd: int
    started_monotonic: float
    size: int = 0
    synced_size: int = 0
    # The folder entry of a new file is durable only after an fsync of the folder.
    directory_synced: bool = False
    closed: bool = False


def _unlinked(fd: int) -> bool:
    """Return True when the file behind an open descriptor no longer has a name in any folder."""
    try:
        return os.fstat(fd).st_nlink == 0
    except OSError:
        return True


def host_label() -> str:
    """Return this machine's host name reduced to the characters allowed in a segment name."""
    label = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()).replace("_", "-")
    return label or "host"


class ArchiveWriter:
    """Append messages to segment files in `directory`, rotated by size and age.

    All methods except `status` must run on the event loop that calls `append`. Fsync runs on
    a dedicated worker thread, so the loop keeps serving requests meanwhile.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        segment_max_bytes: int = 64 * 1024 * 1024,
        segment_max_seconds: float = 300.0,
        max_bytes: int | None = None,
        min_free_bytes: int = 0,
        *,
        wall_clock: t.Callable[[], float] = time.time,
        monotonic_clock: t.Callable[[], float] = time.monotonic,
        fsync: t.Callable[[int], None] = os.fsync,
    ) -> None:
        self.directory = os.path.abspath(os.fspath(directory))
        self.segment_max_bytes = segment_max_bytes
        self.segment_max_seconds = segment_max_seconds
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self._wall_clock = wall_clock
        self._monotonic = monotonic_clock
        self._fsync = fsync
        self._host = host_label()
        self._pid = os.getpid()
        self._sequence = 0
        self._last_name_stamp = ""
        self._current: _Segment | None = None
        # Segments rotated out or abandoned whose last fsync and close are still to run.
        self._retiring: list[_Segment] = []
        self._waiters: list[tuple[_Segment, int, asyncio.Future[None]]] = []
        self._wakeup: asyncio.Event | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = True
        self._folder_bytes = 0
        self._free_bytes: int | None = None
        self._usage_checked_at = float("-inf")
        self._error_logged_at: dict[str, float] = {}
        self._errors_suppressed: dict[str, int] = {}
        self.stats = {
            "appends": 0,
            "events": 0,
            "bytes": 0,
            "fsyncs": 0,
            "segments_started": 0,
            "rejected_full": 0,
            "errors": 0,
        }
        self.last_error: str | None = None

    async def open(self) -> None:
        """Create the folder if needed and start the fsync worker."""
        os.makedirs(self.directory, exist_ok=True)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="segment-archive-fsync"
        )
        self._wakeup = asyncio.Event()
        self._closed = False
        self._refresh_usage(force=True)
        self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())
        LOGGER.info("Archive open in '%s'", self.directory)

    async def append(self, data: bytes, events: int = 1) -> None:
        """Append whole NDJSON lines and wait until an fsync covers them.

        Raises `ArchiveFull` or `ArchiveUnavailable`; then the bytes are not durable and the
        request must not be acknowledged.
        """
        if self._closed:
            raise ArchiveUnavailable("archive is closed")
        self._check_budget(len(data))
        segment = self._segment_for_write()
        self._write(segment, data)
        self.stats["appends"] += 1
        self.stats["events"] += events
        self.stats["bytes"] += len(data)
        self._folder_bytes += len(data)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((segment, segment.size, future))
        assert self._wakeup is not None
        self._wakeup.set()
        await future

    async def close(self) -> None:
        """Complete pending appends, then fsync and close every segment."""
        if self._closed:
            return
        self._closed = True
        if self._current is not None:
            self._retiring.append(self._current)
            self._current = None
        assert self._wakeup is not None
        self._wakeup.set()
        if self._flusher is not None:
            await self._flusher
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        LOGGER.info(
            "Archive closed: %d events in %d requests, %d bytes, %d fsyncs, %d segments",
            self.stats["events"],
            self.stats["appends"],
            self.stats["bytes"],
            self.stats["fsyncs"],
            self.stats["segments_started"],
        )

    def status(self) -> dict[str, t.Any]:
        """Return counters and the state of the archive as a JSON-ready dict."""
        current = self._current
        return {
            "directory": self.directory,
            "open": not self._closed,
            "current_segment": current.name if current is not None else None,
            "folder_bytes": self._folder_bytes,
            "max_bytes": self.max_bytes,
            "free_bytes": self._free_bytes,
            "min_free_bytes": self.min_free_bytes,
            "last_error": self.last_error,
            **self.stats,
        }

    # Budget

    def _refresh_usage(self, force: bool = False) -> None:
        now = self._monotonic()
        if not force and now - self._usage_checked_at < _USAGE_REFRESH_SECONDS:
            return
        self._usage_checked_at = now
        total = 0
        try:
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    if entry.name.startswith(SEGMENT_PREFIX) and entry.name.endswith(SEGMENT_SUFFIX):
                        try:
                            total += entry.stat().st_size
                        except FileNotFoundError:
                            continue
            usage = os.statvfs(self.directory)
        except OSError as error:
            self._log_error("usage", "Cannot measure archive folder '%s': %s", self.directory, error)
            return
        self._folder_bytes = total
        self._free_bytes = usage.f_bavail * usage.f_frsize

    def _check_budget(self, size: int) -> None:
        self._refresh_usage()
        if self.max_bytes is not None and self._folder_bytes + size > self.max_bytes:
            self.stats["rejected_full"] += 1
            self._log_error(
                "full",
                "Archive folder '%s' holds %d bytes, at its limit of %d (archive_max_bytes); answering 503",
                self.directory,
                self._folder_bytes,
                self.max_bytes,
            )
            raise ArchiveFull("archive is at archive_max_bytes")
        if self._free_bytes is not None and self._free_bytes - size < self.min_free_bytes:
            self.stats["rejected_full"] += 1
            self._log_error(
                "disk",
                "Disk under '%s' has %d bytes free, below the reserve of %d (archive_min_free_bytes); answering 503",
                self.directory,
                self._free_bytes,
                self.min_free_bytes,
            )
            raise ArchiveFull("disk free space is below archive_min_free_bytes")
        if self._free_bytes is not None:
            self._free_bytes -= size

    # Segments

    def _segment_for_write(self) -> _Segment:
        segment = self._current
        if segment is not None:
            age = self._monotonic() - segment.started_monotonic
            if segment.size >= self.segment_max_bytes or age >= self.segment_max_seconds:
                self._retiring.append(segment)
                self._current = None
                segment = None
            elif _unlinked(segment.fd):
                # Someone deleted the open segment, for example to free disk space; bytes
                # written to it now would be acknowledged but never followed.
                LOGGER.warning("Archive segment '%s' was deleted while open; starting a new one", segment.path)
                self._retiring.append(segment)
                self._current = None
                segment = None
        if segment is None:
            segment = self._start_segment()
            self._current = segment
        return segment

    def _next_name(self) -> str:
        moment = dt.datetime.fromtimestamp(self._wall_clock(), dt.timezone.utc)
        stamp = moment.strftime("%Y%m%dT%H%M%S.") + f"{moment.microsecond // 1000:03d}Z"
        # A clock that steps back must not produce a name that sorts before an earlier one.
        if stamp < self._last_name_stamp:
            stamp = self._last_name_stamp
        self._last_name_stamp = stamp
        self._sequence += 1
        return f"{SEGMENT_PREFIX}{stamp}-{self._host}-{self._pid}-{self._sequence:06d}{SEGMENT_SUFFIX}"

    def _start_segment(self) -> _Segment:
        name = self._next_name()
        path = os.path.join(self.directory, name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, _FILE_MODE)
        except OSError as error:
            self._fail("create", "Cannot create archive segment '%s': %s", path, error)
        self.stats["segments_started"] += 1
        LOGGER.info("Started archive segment '%s'", name)
        return _Segment(name=name, path=path, fd=fd, started_monotonic=self._monotonic())

    def _write(self, segment: _Segment, data: bytes) -> None:
        view = memoryview(data)
        written = 0
        try:
            while written < len(view):
                written += os.write(segment.fd, view[written:])
        except OSError as error:
            # Cut the partial line so the segment ends on a whole line, then stop using it.
            # NOTE: a follower may have read the partial bytes before the truncation, but it
            # only consumes lines that end in a newline, so it never used them.
            try:
                os.ftruncate(segment.fd, segment.size)
            except OSError as truncate_error:
                LOGGER.error("Cannot truncate '%s' after a failed write: %s", segment.path, truncate_error)
            self._abandon(segment)
            self._fail("write", "Cannot write archive segment '%s': %s", segment.path, error)
        segment.size += written

    def _abandon(self, segment: _Segment) -> None:
        if self._current is segment:
            self._current = None
            self._retiring.append(segment)

    def _fail(self, kind: str, template: str, *args: object) -> t.NoReturn:
        self.stats["errors"] += 1
        self.last_error = template % args
        self._log_error(kind, template, *args)
        raise ArchiveUnavailable(self.last_error)

    def _log_error(self, kind: str, template: str, *args: object) -> None:
        now = self._monotonic()
        if now - self._error_logged_at.get(kind, float("-inf")) < _ERROR_LOG_INTERVAL_SECONDS:
            self._errors_suppressed[kind] = self._errors_suppressed.get(kind, 0) + 1
            return
        suppressed = self._errors_suppressed.pop(kind, 0)
        self._error_logged_at[kind] = now
        if suppressed:
            template += " (%d more like this since the last report)"
            args = (*args, suppressed)
        LOGGER.error(template, *args)

    # Group commit

    async def _flush_loop(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._waiters or self._retiring:
                await self._flush_once(loop)
            if self._closed and not self._waiters:
                return

    async def _flush_once(self, loop: asyncio.AbstractEventLoop) -> None:
        # Every waiter taken here wrote its bytes before this point, so syncing each segment
        # up to its current size covers all of them.
        waiters, self._waiters = self._waiters, []
        retiring, self._retiring = self._retiring, []
        segments: dict[int, _Segment] = {}
        for segment in [waiter[0] for waiter in waiters] + retiring:
            segments[id(segment)] = segment
        targets = [(segment, segment.size) for segment in segments.values() if not segment.closed]
        to_close = [segment for segment in retiring if not segment.closed]
        assert self._executor is not None
        try:
            failed = await loop.run_in_executor(self._executor, self._sync_segments, targets, to_close)
        except Exception as error:  # noqa: BLE001 - a waiter left pending would hang its request
            LOGGER.exception("Archive sync failed unexpectedly")
            self.last_error = f"archive sync failed: {error}"
            failed = {segment: error for segment, _size in targets}
        self.stats["fsyncs"] += len(targets)
        for segment, error in failed.items():
            self._abandon(segment)
            self.stats["errors"] += 1
            self.last_error = f"fsync of '{segment.path}' failed: {error}"
            self._log_error("fsync", "Cannot fsync archive segment '%s': %s", segment.path, error)
        for segment, end, future in waiters:
            if future.done():
                continue
            if segment in failed:
                future.set_exception(ArchiveUnavailable(f"fsync of '{segment.name}' failed"))
            elif segment.synced_size >= end:
                future.set_result(None)
            else:
                future.set_exception(ArchiveUnavailable(f"segment '{segment.name}' was not synced"))

    def _sync_segments(
        self, targets: list[tuple[_Segment, int]], to_close: list[_Segment]
    ) -> dict[_Segment, Exception]:
        """Fsync segments, and the folder for new files, on the fsync worker thread."""
        failed: dict[_Segment, Exception] = {}
        need_directory_sync = False
        for segment, size in targets:
            try:
                self._fsync(segment.fd)
            except OSError as error:
                failed[segment] = error
                continue
            if not segment.directory_synced:
                need_directory_sync = True
            segment.synced_size = max(segment.synced_size, size)
        if need_directory_sync:
            try:
                directory_fd = os.open(self.directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
                try:
                    self._fsync(directory_fd)
                finally:
                    os.close(directory_fd)
            except OSError as error:
                for segment, _size in targets:
                    if not segment.directory_synced and segment not in failed:
                        failed[segment] = error
            else:
                for segment, _size in targets:
                    segment.directory_synced = True
        for segment in to_close:
            try:
                os.close(segment.fd)
            except OSError as error:
                LOGGER.error("Cannot close archive segment '%s': %s", segment.path, error)
            segment.closed = True
        return failed
