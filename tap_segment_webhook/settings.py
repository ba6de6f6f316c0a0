"""The tap's settings: their names, types, defaults and descriptions."""

from __future__ import annotations

from singer_sdk import typing as th

DEFAULT_REJECTS_PATH = "segment-rejects.ndjson"
DEFAULT_ARCHIVE_DIR = "segment-archive"
DEFAULT_MAX_COLUMNS = 1000
DEFAULT_DEDUPE_WINDOW = 250_000
DEFAULT_STATE_INTERVAL_RECORDS = 10_000
DEFAULT_DISCOVER_SAMPLE = 100_000

REPLAY_SETTINGS = th.PropertiesList(
    th.Property(
        "mode",
        th.StringType,
        default="replay",
        allowed_values=["replay", "listen"],
        description="'replay' reads payload files from 'input_paths'; 'listen' runs the webhook listener.",
        examples=["replay", "listen"],
    ),
    th.Property(
        "input_paths",
        th.ArrayType(th.StringType),
        default=[],
        description=(
            "Replay inputs: files, folders (read recursively, sorted by path) and glob patterns. "
            "'-' reads standard input. Files may be NDJSON, one JSON object or array, or a "
            "{\"batch\": [...]} envelope, each optionally gzipped."
        ),
        examples=[["segment-logs/"], ["captures/*.json.gz", "-"]],
    ),
    th.Property(
        "column_style",
        th.StringType,
        default="flat",
        allowed_values=["flat", "nested"],
        description=(
            "'flat' turns every nested field into its own column (context.page.url becomes "
            "context__page__url); 'nested' keeps context, properties, traits and integrations "
            "as JSON objects."
        ),
        examples=["flat", "nested"],
    ),
    th.Property(
        "rejects_path",
        th.StringType,
        default=DEFAULT_REJECTS_PATH,
        description="NDJSON file that collects input which cannot become a record, with reason and source.",
        examples=["rejects/segment-rejects.ndjson"],
    ),
    th.Property(
        "report_path",
        th.StringType,
        description="Optional JSON file for the run report that is also logged on stderr.",
        examples=["reports/last-run.json"],
    ),
    th.Property(
        "max_columns_per_stream",
        th.IntegerType,
        default=DEFAULT_MAX_COLUMNS,
        description=(
            "Column budget per stream. Keys past it are kept as JSON text in the '_overflow' "
            "column instead of new columns. PostgreSQL allows at most 1600 columns per table."
        ),
        examples=[1000],
    ),
    th.Property(
        "max_nesting_depth",
        th.IntegerType,
        default=10,
        description="In 'flat' style, objects nested deeper than this many levels are kept as JSON text.",
        examples=[10],
    ),
    th.Property(
        "dedupe_window",
        th.IntegerType,
        default=DEFAULT_DEDUPE_WINDOW,
        description=(
            "How many recent message ids (all streams together) a run remembers to skip duplicates. "
            "Each id costs roughly 150 bytes of memory. 0 turns duplicate skipping off."
        ),
        examples=[250000],
    ),
    th.Property(
        "state_interval_records",
        th.IntegerType,
        default=DEFAULT_STATE_INTERVAL_RECORDS,
        description="A STATE message is written after this many records, at the end of each file, and at the end.",
        examples=[10000],
    ),
    th.Property(
        "discover_sample_size",
        th.IntegerType,
        default=DEFAULT_DISCOVER_SAMPLE,
        description="How many messages '--discover' reads from the configured input to find columns; 0 reads all.",
        examples=[100000],
    ),
)
