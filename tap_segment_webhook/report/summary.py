"""Run counters, progress lines, and the report written at the end of every run."""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import sys
import time
import typing as t

LOGGER = logging.getLogger("tap-segment-webhook.report")
PROGRESS_INTERVAL_SECONDS = 10.0
TERMINAL_PROGRESS_INTERVAL_SECONDS = 0.5


@dataclasses.dataclass
class StreamCounts:
    """Counters of one stream's messages during a run."""

    records: int = 0
    duplicates_skipped: int = 0
    values_repaired: int = 0
    columns_added: int = 0
    type_splits: int = 0
    keys_overflowed: int = 0
    skipped_by_integrations: int = 0


class RunReport:
    """Count a run's work and write the report on stderr and, optionally, as a JSON file."""

    def __init__(self, report_path: str | None = None, *, total_bytes: int | None = None) -> None:
        self.report_path = report_path
        self.streams: dict[str, StreamCounts] = collections.defaultdict(StreamCounts)
        self.rejects: collections.Counter[str] = collections.Counter()
        self.files_done = 0
        self.files_skipped = 0
        self.files_total = 0
        self.bytes_read = 0
        self.total_bytes = total_bytes
        self.events = 0
        self.started = time.monotonic()
        self._terminal = sys.stderr.isatty()
        interval = TERMINAL_PROGRESS_INTERVAL_SECONDS if self._terminal else PROGRESS_INTERVAL_SECONDS
        self._progress_interval = interval
        self._next_progress = self.started + interval
        self._progress_shown = False

    def progress_text(self, now: float) -> str:
        total = f" of {self.total_bytes:,}" if self.total_bytes else ""
        return (
            f"{self.files_done} of {self.files_total} files, {self.bytes_read:,}{total} bytes, "
            f"{self.events:,} events, {self.events / max(now - self.started, 1e-9):,.0f} events/s"
        )

    def maybe_log_progress(self) -> None:
        """Show progress: a line redrawn in place on a terminal, else a log line every 10 seconds."""
        now = time.monotonic()
        if now < self._next_progress:
            return
        self._next_progress = now + self._progress_interval
        if self._terminal:
            sys.stderr.write("\r" + self.progress_text(now) + "\x1b[K")
            sys.stderr.flush()
            self._progress_shown = True
        else:
            LOGGER.info("Progress: %s", self.progress_text(now))

    def as_dict(self) -> dict[str, t.Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            "streams": {name: dataclasses.asdict(counts) for name, counts in sorted(self.streams.items())},
            "rejects": dict(sorted(self.rejects.items())),
            "files": {"done": self.files_done, "skipped_unchanged": self.files_skipped, "total": self.files_total},
            "bytes_read": self.bytes_read,
            "events": self.events,
            "elapsed_seconds": round(elapsed, 3),
            "events_per_second": round(self.events / elapsed, 1),
            "bytes_per_second": round(self.bytes_read / elapsed, 1),
        }

    def finish(self) -> dict[str, t.Any]:
        """Write the final report of the run."""
        return self.write(final=True)

    def write(self, *, final: bool) -> dict[str, t.Any]:
        """Log the report on stderr and write the JSON file when configured.

        Listen mode writes an interim report every `report_interval_seconds`.
        """
        report = self.as_dict()
        report["final"] = final
        if self._progress_shown:
            sys.stderr.write("\n")
            self._progress_shown = False
        for name, counts in report["streams"].items():
            LOGGER.info(
                "Stream '%s': %d records, %d duplicates skipped, %d values repaired, "
                "%d columns added, %d type splits, %d keys in the overflow column, "
                "%d skipped by the integrations filter",
                name,
                counts["records"],
                counts["duplicates_skipped"],
                counts["values_repaired"],
                counts["columns_added"],
                counts["type_splits"],
                counts["keys_overflowed"],
                counts["skipped_by_integrations"],
            )
        rejected = sum(report["rejects"].values())
        LOGGER.info(
            "%s: %d events, %d rejected %s, %d bytes in %.1f s (%.0f events/s, %.0f bytes/s)",
            "Run finished" if final else "Report so far",
            report["events"],
            rejected,
            json.dumps(report["rejects"]),
            report["bytes_read"],
            report["elapsed_seconds"],
            report["events_per_second"],
            report["bytes_per_second"],
        )
        if self.report_path:
            directory = os.path.dirname(self.report_path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            with open(self.report_path, "w", encoding="utf-8") as handle:
                json.dump(report, handle, indent=2)
                handle.write("\n")
        return report
