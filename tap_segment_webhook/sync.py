"""The single-pass driver: read every input once and write all streams through one writer."""

from __future__ import annotations

import copy
import logging
import os
import signal
import sys
import time
import typing as t
import zlib

from singer_sdk.mapper import SameRecordTransform

from tap_segment_webhook.decode.framing import (
    INCOMPLETE_LAST_LINE,
    DecodeError,
    Document,
    iter_documents,
    iter_lines,
)
from tap_segment_webhook.decode.inputs import InputFile, open_input, resolve_inputs
from tap_segment_webhook.emit.writer import SingerWriter
from tap_segment_webhook.pipeline import Pipeline, ShapedRecord
from tap_segment_webhook.report.rejects import RejectsWriter
from tap_segment_webhook.report.summary import RunReport
from tap_segment_webhook.state.bookmarks import FileBookmarks, ReadPlan
from tap_segment_webhook.streams import KEY_PROPERTIES, STREAM_NAMES, build_columns

if t.TYPE_CHECKING:
    from tap_segment_webhook.tap import TapSegmentWebhook

LOGGER = logging.getLogger("tap-segment-webhook.sync")
INVALID_GZIP = "invalid_gzip"
STATE_INTERVAL_SECONDS = 10.0


def build_pipeline(
    tap: TapSegmentWebhook,
    *,
    selected: t.Collection[str],
    rejects: RejectsWriter,
    report: RunReport,
    widen: bool = False,
    use_catalog: bool = True,
    quiet: bool = False,
) -> Pipeline:
    """Build the pipeline with each stream's columns from the base schema, STATE and catalog."""
    config = tap.config
    input_state = tap.input_state
    bookmarks = input_state.get("bookmarks", {})
    catalog = tap.input_catalog if use_catalog else None
    if catalog is not None and not quiet:
        _warn_about_catalog(catalog)
    columns = {}
    for name in STREAM_NAMES:
        catalog_schema = None
        deselected: list[str] = []
        if catalog is not None and name in catalog:
            entry = catalog[name]
            catalog_schema = entry.schema.to_dict()
            for breadcrumb, metadata in entry.metadata.items():
                if len(breadcrumb) == 2 and breadcrumb[0] == "properties" and metadata.selected is False:
                    deselected.append(breadcrumb[1])
        columns[name] = build_columns(
            name,
            max_columns=config.get("max_columns_per_stream", 1000),
            state_rows=bookmarks.get(name, {}).get("columns", []),
            catalog_schema=catalog_schema,
            deselected=deselected,
            widen=widen,
            quiet=quiet,
        )
    return Pipeline(
        columns,
        selected=selected,
        column_style=config.get("column_style", "flat"),
        max_depth=config.get("max_nesting_depth", 10),
        dedupe_window=config.get("dedupe_window", 250_000),
        rejects=rejects,
        report=report,
        integration_name=config.get("integration_name"),
    )


def _warn_about_catalog(catalog: t.Any) -> None:
    """Log each catalog request that the tap cannot honour, so that none is ignored silently."""
    for name in catalog:
        if name not in STREAM_NAMES:
            LOGGER.warning("The catalog names stream '%s', which this tap does not have; it is ignored", name)
            continue
        key_properties = list(catalog[name].key_properties or [])
        if key_properties and key_properties != list(KEY_PROPERTIES):
            LOGGER.warning(
                "The catalog sets key properties %s for stream '%s'; the tap always keys records by %s",
                key_properties,
                name,
                list(KEY_PROPERTIES),
            )


def read_input(item: InputFile, plan: ReadPlan) -> t.Iterator[Document | DecodeError]:
    """Yield the decoded documents of one input from where its plan starts.

    A gzip stream that is truncated or corrupt ends the input with an `invalid_gzip` error
    after the documents decoded before the damage.
    """
    end_offset = plan.start_offset
    line = plan.next_line - 1
    try:
        with open_input(item, plan.start_offset) as stream:
            if plan.start_offset:
                documents = iter_lines(
                    stream, start_offset=plan.start_offset, first_line=plan.next_line, complete_lines_only=False
                )
            else:
                documents = iter_documents(stream)
            for decoded in documents:
                end_offset = decoded.end_offset
                line = decoded.line
                yield decoded
    except (EOFError, zlib.error) as error:
        message = f"gzip data is truncated or corrupt after {end_offset} decompressed bytes: {error}"
        yield DecodeError(INVALID_GZIP, message, line + 1, end_offset, b"")


def shape_inputs(
    pipeline: Pipeline,
    inputs: t.Iterable[InputFile],
    on_unreadable: t.Callable[[InputFile, OSError], None] | None = None,
) -> t.Iterator[ShapedRecord]:
    """Yield the records of whole inputs, for discovery and the SDK's per-stream test runs.

    An input that cannot be read is passed to `on_unreadable`, or raises when it is None.
    """
    for item in inputs:
        try:
            for decoded in read_input(item, ReadPlan(skip=False)):
                yield from pipeline.process(decoded, {"file": item.path})
        except OSError as error:
            if on_unreadable is None:
                raise
            on_unreadable(item, error)


def _size_or_zero(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class SyncDriver:
    """Run one sync: replay the configured inputs and write SCHEMA, RECORD and STATE."""

    def __init__(self, tap: TapSegmentWebhook, output: t.BinaryIO | None = None) -> None:
        self.tap = tap
        self.config = tap.config
        self.stop_requested = False
        sys.stdout.flush()
        self.writer = SingerWriter(output if output is not None else sys.stdout.buffer)
        self.selected = [name for name, stream in tap.streams.items() if stream.selected]
        self.rejects = RejectsWriter(
            self.config.get("rejects_path", "segment-rejects.ndjson"), secrets=tap.secret_values()
        )
        self.report = RunReport(self.config.get("report_path"))
        # The listener writes rejects too, so the report counts what the rejects writer saw.
        self.report.rejects = self.rejects.counts
        self.pipeline = build_pipeline(tap, selected=self.selected, rejects=self.rejects, report=self.report)
        self.bookmarks = FileBookmarks(tap.input_state.get("replay", {}).get("files"))
        earlier_style = tap.input_state.get("column_style")
        if earlier_style is not None and earlier_style != self.config.get("column_style", "flat"):
            LOGGER.warning(
                "The STATE was written with column_style '%s', the config sets '%s': columns named in "
                "the STATE keep their names, new keys get names in the new style. Start without STATE "
                "and load into a new schema to rename every column.",
                earlier_style,
                self.config.get("column_style", "flat"),
            )
        self.state_interval = max(1, int(self.config.get("state_interval_records", 10_000)))
        self.records_since_state = 0
        self.last_state_time = time.monotonic()
        # Extra top-level STATE keys, such as listen mode's archive positions, by producer.
        self.extra_state: dict[str, t.Callable[[], t.Any]] = {}
        # Called from the signal handler, so it must not block; listen mode stops intake with it.
        self.on_stop_request: t.Callable[[], None] | None = None
        self._announced: dict[str, set[str]] = {}
        self._fast_streams = {name: self._is_plain_stream(name) for name in STREAM_NAMES}

    # Output.

    def _is_plain_stream(self, name: str) -> bool:
        maps = self.tap.mapper.stream_maps.get(name, [])
        return (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == name
            and not maps[0].flattening_enabled
        )

    def write_schema(self, stream: str) -> None:
        columns = self.pipeline.columns[stream]
        schema = columns.json_schema()
        columns.schema_dirty = False
        announced = self._announced.setdefault(stream, set())
        added = [name for name in schema["properties"] if name not in announced]
        if announced and added:
            shown = ", ".join(added[:10]) + (f" and {len(added) - 10} more" if len(added) > 10 else "")
            LOGGER.info("Stream '%s': SCHEMA with %d new columns: %s", stream, len(added), shown)
        announced.update(added)
        if self._fast_streams[stream]:
            self.writer.write_schema(stream, schema, KEY_PROPERTIES)
            return
        self.tap.mapper.register_raw_stream_schema(stream, schema, list(KEY_PROPERTIES))
        for stream_map in self.tap.mapper.stream_maps[stream]:
            self.writer.write_schema(
                stream_map.stream_alias,
                stream_map.transformed_schema,
                stream_map.transformed_key_properties or [],
            )

    def write_record(self, stream: str, record: dict[str, t.Any], schema_changed: bool) -> None:
        if schema_changed:
            self.write_schema(stream)
        if self._fast_streams[stream]:
            self.writer.write_record(stream, record)
        else:
            for stream_map in self.tap.mapper.stream_maps[stream]:
                mapped = stream_map.transform(record)
                if mapped is not None:
                    self.writer.write_record(stream_map.stream_alias, mapped)
        self.records_since_state += 1

    def state_value(self) -> dict[str, t.Any]:
        """Return the full STATE: columns per stream and the input positions."""
        state = copy.deepcopy(self.tap.input_state)
        bookmarks = state.setdefault("bookmarks", {})
        for name, columns in self.pipeline.columns.items():
            bookmarks.setdefault(name, {})["columns"] = columns.to_state()
        state.setdefault("replay", {})["files"] = self.bookmarks.to_dict()
        for key, produce in self.extra_state.items():
            state[key] = produce()
        state["column_style"] = self.config.get("column_style", "flat")
        return state

    def write_state(self) -> None:
        self.writer.write_state(self.state_value())
        self.writer.flush()
        self.records_since_state = 0
        self.last_state_time = time.monotonic()

    def state_due(self) -> bool:
        return (
            self.records_since_state >= self.state_interval
            or time.monotonic() - self.last_state_time >= STATE_INTERVAL_SECONDS
        )

    # Replay.

    def replay(self) -> None:
        patterns = self.config.get("input_paths") or []
        if not patterns:
            LOGGER.warning("No 'input_paths' configured, so there is nothing to replay.")
        inputs = resolve_inputs(patterns)
        report = self.report
        report.files_total = len(inputs)
        report.total_bytes = sum(_size_or_zero(item.path) for item in inputs if not item.is_stdin) or None
        LOGGER.info("Replaying %d inputs (%s bytes)", len(inputs), report.total_bytes or "unknown")
        for item in inputs:
            if self.stop_requested:
                break
            try:
                plan = self.bookmarks.plan(item)
                if plan.skip:
                    report.files_skipped += 1
                    LOGGER.info("Skipping input '%s': finished in an earlier run and unchanged", item.path)
                    continue
                self._replay_file(item, plan)
            except OSError as error:
                # A file removed during the run, a dangling link or a permission problem costs
                # that file only.
                message = f"cannot read the input: {error}"
                self.pipeline.reject("unreadable_input", message, {"file": item.path}, b"")
                LOGGER.error("Input '%s': %s", item.path, message)
                continue
            # Many small files would otherwise write one STATE each, every one listing all files.
            if self.state_due():
                self.write_state()

    def _replay_file(self, item: InputFile, plan: ReadPlan) -> None:
        LOGGER.info("Reading input '%s'", item.path)
        self.bookmarks.begin(item, plan)
        source = {"file": item.path}
        offset = plan.start_offset
        report = self.report
        pipeline = self.pipeline
        write_record = self.write_record
        complete = True
        for decoded in read_input(item, plan):
            source["line"] = decoded.line
            if isinstance(decoded, DecodeError) and decoded.reason in (INCOMPLETE_LAST_LINE, INVALID_GZIP):
                complete = self._handle_unfinished_input(item, plan, decoded, source)
                if not complete:
                    break
            pipeline.feed(decoded, source, write_record)
            report.bytes_read += decoded.end_offset - offset
            offset = decoded.end_offset
            self.bookmarks.advance(item, offset, decoded.line, whole_input=getattr(decoded, "whole_input", False))
            report.maybe_log_progress()
            if self.state_due():
                self.write_state()
            if self.stop_requested:
                LOGGER.info("Stopping at byte %d of '%s'", offset, item.path)
                return
        if not complete:
            return
        if not item.is_stdin:
            self.bookmarks.finish(item)
        report.files_done += 1
        LOGGER.info("Finished input '%s': %d bytes", item.path, offset - plan.start_offset)

    def _handle_unfinished_input(
        self, item: InputFile, plan: ReadPlan, decoded: DecodeError, source: dict[str, t.Any]
    ) -> bool:
        """Deal with an input that ends early; return True if it still counts as complete.

        A damaged gzip stream is rejected once and left unfinished: a rerun skips it while its
        size is unchanged, and reads a complete copy that replaces it. A last line without a
        newline is left for the next run, because a writer may still be appending to it. If
        the file is still unchanged in that run, the line is rejected.
        """
        if decoded.reason == INVALID_GZIP:
            self.pipeline.reject(INVALID_GZIP, decoded.message, source, b"")
            LOGGER.error("Input '%s': %s", item.path, decoded.message)
            if not item.is_stdin:
                self.bookmarks.mark_damaged(item)
            return False
        if item.is_stdin or plan.tail_is_final:
            # Standard input cannot grow later, and a file unchanged since the last run that
            # left this line pending is not being written to.
            self.pipeline.reject("invalid_json", decoded.message, source, decoded.raw)
            return True
        self.bookmarks.mark_pending_tail(item)
        LOGGER.warning(
            "Input '%s': the last line (line %d, from byte %d) has no newline and is not valid JSON yet; "
            "it is left for the next run",
            item.path,
            decoded.line,
            decoded.end_offset,
        )
        return False

    # Lifecycle.

    def _request_stop(self, signum: int, _frame: t.Any) -> None:
        LOGGER.info("Received signal %d; finishing the current document and writing STATE", signum)
        self.stop_requested = True
        if self.on_stop_request is not None:
            self.on_stop_request()

    def run(self) -> dict[str, t.Any]:
        """Run the sync and return the run report."""
        previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[signum] = signal.signal(signum, self._request_stop)
            except ValueError:
                # Signal handlers can only be set from the main thread.
                break
        try:
            for stream in self.selected:
                self.write_schema(stream)
            mode = self.config.get("mode", "replay")
            if mode == "listen":
                from tap_segment_webhook.listen.loop import run_listener

                run_listener(self)
            else:
                self.replay()
            self.write_state()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.rejects.close()
            self.writer.flush()
        self.pipeline.sync_column_counts()
        return self.report.finish()
