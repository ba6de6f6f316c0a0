"""Listen mode's driver loop: run the listener, follow its archive, and emit what it accepted.

Records come from the archive, never straight from requests, so everything emitted was
acknowledged only after it was on disk, and a restart from the last STATE re-reads every
acknowledged message the target may not have stored.
"""

from __future__ import annotations

import logging
import os
import time
import typing as t

from tap_segment_webhook.decode.framing import iter_lines
from tap_segment_webhook.listen.follow import ArchiveFollower
from tap_segment_webhook.listen.service import ListenerService
from tap_segment_webhook.listen.settings import ListenSettings

if t.TYPE_CHECKING:
    from tap_segment_webhook.sync import SyncDriver

LOGGER = logging.getLogger("tap-segment-webhook.listen.loop")
# How often the archive is checked for new lines when it is quiet.
POLL_SECONDS = 0.2


class ArchivePositions:
    """How far each archive segment has been emitted: byte offset and line number."""

    def __init__(self, saved: dict[str, t.Any] | None) -> None:
        saved = saved or {}
        self.segments: dict[str, dict[str, int]] = {
            name: {"offset": int(entry.get("offset", 0)), "line": int(entry.get("line", 0))}
            for name, entry in (saved.get("segments") or {}).items()
        }

    def to_dict(self, archive_dir: str, existing: t.Collection[str]) -> dict[str, t.Any]:
        """Return the positions for STATE, leaving out segments that were deleted."""
        names = {os.path.basename(path) for path in existing}
        return {
            "archive_dir": archive_dir,
            "segments": {name: entry for name, entry in self.segments.items() if name in names},
        }


class EmissionStatus:
    """Counters the driver updates and `GET /health` reads from the listener thread."""

    def __init__(self) -> None:
        self.records_emitted = 0
        self.last_emitted_at: float | None = None
        self.bytes_followed = 0

    def snapshot(self) -> dict[str, t.Any]:
        last = self.last_emitted_at
        return {
            "records_emitted": self.records_emitted,
            "seconds_since_last_record": None if last is None else round(time.time() - last, 3),
            "archive_bytes_followed": self.bytes_followed,
        }


def _follow_segment(driver: SyncDriver, path: str, position: dict[str, int], status: EmissionStatus) -> int:
    """Emit the complete new lines of one segment; return how many bytes were read."""
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        return 0
    if size <= position["offset"]:
        return 0
    source: dict[str, t.Any] = {"file": path}
    read = 0
    with open(path, "rb") as handle:
        handle.seek(position["offset"])
        for decoded in iter_lines(
            handle, start_offset=position["offset"], first_line=position["line"] + 1, complete_lines_only=True
        ):
            source["line"] = decoded.line
            before = driver.writer.records_written
            driver.pipeline.feed(decoded, source, driver.write_record)
            emitted = driver.writer.records_written - before
            consumed = decoded.end_offset - position["offset"]
            read += consumed
            position["offset"] = decoded.end_offset
            position["line"] = decoded.line
            # Updated per line, because write_record blocks while the stdout pipe is full, and
            # GET /health must then show how far emission got and for how long it has stalled.
            status.records_emitted += emitted
            status.bytes_followed += consumed
            status.last_emitted_at = time.time()
    # Blank lines are not yielded, so the position may stop short of the size; that is fine.
    return read


def run_listener(driver: SyncDriver) -> None:
    """Serve until a signal, `max_run_seconds` or `idle_timeout_seconds` ends the run."""
    config = driver.config
    settings = ListenSettings.from_config(config)
    archive_dir = os.path.abspath(settings.archive_dir)
    positions = ArchivePositions(driver.tap.input_state.get("listen"))
    follower = ArchiveFollower(archive_dir)
    status = EmissionStatus()
    driver.extra_state["listen"] = lambda: positions.to_dict(archive_dir, follower.segments())
    max_run = config.get("max_run_seconds")
    idle_timeout = config.get("idle_timeout_seconds")

    service = ListenerService(settings, driver.rejects, status.snapshot)
    service.start()
    # The driver's signal handler calls this, so intake stops with 503 even while this
    # thread is blocked writing to a full stdout pipe.
    driver.on_stop_request = service.stop_intake
    started = last_activity = time.monotonic()
    report_interval = float(config.get("report_interval_seconds") or 60)
    next_report = started + report_interval

    def follow_all() -> int:
        total = 0
        for path in follower.segments():
            position = positions.segments.setdefault(os.path.basename(path), {"offset": 0, "line": 0})
            total += _follow_segment(driver, path, position, status)
        driver.report.bytes_read += total
        return total

    reason = "a signal"
    try:
        while not driver.stop_requested:
            now = time.monotonic()
            if follow_all():
                last_activity = now
                driver.writer.flush()
                if driver.state_due():
                    driver.write_state()
            else:
                if max_run is not None and now - started >= float(max_run):
                    reason = f"max_run_seconds ({max_run})"
                    break
                if idle_timeout is not None and now - last_activity >= float(idle_timeout):
                    reason = f"idle_timeout_seconds ({idle_timeout})"
                    break
                if driver.records_since_state and now - driver.last_state_time >= 1.0:
                    driver.write_state()
                time.sleep(POLL_SECONDS)
            if now >= next_report:
                next_report = now + report_interval
                driver.pipeline.sync_column_counts()
                driver.report.write(final=False)
    finally:
        LOGGER.info("Stopping the listener after %s; finishing accepted requests", reason)
        service.stop()
        driver.on_stop_request = None
        # Everything acknowledged is in the archive now; emit the rest before the final STATE.
        follow_all()
        driver.writer.flush()
