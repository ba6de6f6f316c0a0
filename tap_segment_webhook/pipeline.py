"""One decoded document in, routed and shaped records out: the stages shared by both modes."""

from __future__ import annotations

import logging
import typing as t

from tap_segment_webhook.decode.framing import INCOMPLETE_LAST_LINE, DecodeError, Document
from tap_segment_webhook.emit.dedupe import DuplicateFilter
from tap_segment_webhook.normalize.integrations import is_enabled
from tap_segment_webhook.normalize.messages import Message, Reject, expand, is_batch_envelope, normalize_message
from tap_segment_webhook.report.rejects import RejectsWriter
from tap_segment_webhook.report.summary import RunReport
from tap_segment_webhook.shape.columns import StreamColumns
from tap_segment_webhook.shape.shaper import Shaper

LOGGER = logging.getLogger("tap-segment-webhook.pipeline")
# Decode errors that the driver handles itself, because the input may still be complete later.
UNFINISHED_INPUT_REASONS = frozenset({INCOMPLETE_LAST_LINE, "invalid_gzip"})


Emit = t.Callable[[str, t.Dict[str, t.Any], bool], None]


class ShapedRecord(t.NamedTuple):
    """A record ready to write, and whether its stream's SCHEMA must be written first."""

    stream: str
    record: dict[str, t.Any]
    schema_changed: bool


class Pipeline:
    """Normalize and shape the messages of decoded documents for every stream."""

    def __init__(
        self,
        columns: dict[str, StreamColumns],
        *,
        selected: t.Collection[str],
        column_style: str,
        max_depth: int,
        dedupe_window: int,
        rejects: RejectsWriter,
        report: RunReport,
        integration_name: str | None = None,
    ) -> None:
        self.columns = columns
        self.shapers = {
            name: Shaper(stream_columns, column_style=column_style, max_depth=max_depth)
            for name, stream_columns in columns.items()
        }
        self.selected = frozenset(selected)
        self.dedupe = DuplicateFilter(dedupe_window)
        self.rejects = rejects
        self.report = report
        self.skipped_deselected = 0
        self.integration_name = integration_name or None

    def reject(self, reason: str, detail: str, source: dict[str, t.Any], raw: bytes) -> None:
        """Write one reject with its reason, source and raw text."""
        self.rejects.write(reason, {**source, "detail": detail}, raw)

    def process(self, decoded: Document | DecodeError, source: dict[str, t.Any]) -> t.Iterator[ShapedRecord]:
        """Yield the records of one decoded document; rejects go to the rejects file."""
        shaped: list[ShapedRecord] = []
        self.feed(decoded, source, lambda *fields: shaped.append(ShapedRecord(*fields)))
        yield from shaped

    def feed(self, decoded: Document | DecodeError, source: dict[str, t.Any], emit: Emit) -> None:
        """Pass the records of one decoded document to `emit`; rejects go to the rejects file.

        `emit(stream, record, schema_changed)` is called once per record, in input order. This
        is the replay hot path, so a document that is one message skips the envelope expansion.
        """
        if isinstance(decoded, DecodeError):
            if decoded.reason not in UNFINISHED_INPUT_REASONS:
                self.reject(decoded.reason, decoded.message, source, decoded.raw)
            return
        value = decoded.value
        if type(value) is dict and not is_batch_envelope(value):
            items: t.Iterable[Message | Reject] = (normalize_message(value, needs_repair=decoded.needs_repair),)
        else:
            items = expand(value, needs_repair=decoded.needs_repair)
        report = self.report
        first = True
        for item in items:
            if isinstance(item, Reject):
                self.reject(item.reason, item.detail, source, item.raw)
                continue
            report.events += 1
            stream = item.stream
            if stream not in self.selected:
                self.skipped_deselected += 1
                continue
            counts = report.streams[stream]
            if first and decoded.utf8_repairs:
                counts.values_repaired += decoded.utf8_repairs
            first = False
            counts.values_repaired += item.repairs
            data = item.data
            if self.integration_name is not None and not is_enabled(data.get("integrations"), self.integration_name):
                counts.skipped_by_integrations += 1
                continue
            if self.dedupe.is_duplicate(stream, data["messageId"]):
                counts.duplicates_skipped += 1
                continue
            record = self.shapers[stream].shape(data)
            counts.records += 1
            emit(stream, record, self.columns[stream].schema_dirty)

    def sync_column_counts(self) -> None:
        """Copy column counters from the column registries into the report."""
        for name, stream_columns in self.columns.items():
            if stream_columns.columns_added or name in self.report.streams:
                counts = self.report.streams[name]
                counts.columns_added = stream_columns.columns_added
                counts.type_splits = stream_columns.type_splits
                counts.keys_overflowed = stream_columns.overflowed_keys
