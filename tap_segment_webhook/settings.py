"""The tap's settings: their names, types, defaults and descriptions."""

from __future__ import annotations

from singer_sdk import typing as th

DEFAULT_REJECTS_PATH = "segment-rejects.ndjson"
DEFAULT_ARCHIVE_DIR = "segment-archive"
DEFAULT_MAX_COLUMNS = 1000
DEFAULT_DEDUPE_WINDOW = 250_000
DEFAULT_STATE_INTERVAL_RECORDS = 10_000
DEFAULT_DISCOVER_SAMPLE = 100_000

SETTINGS = th.PropertiesList(
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
        allowed_values=["flat", "nested", "segment"],
        description=(
            "'flat' turns every nested field into its own column (context.page.url becomes "
            "context__page__url); 'nested' keeps context, properties, traits and integrations "
            "as JSON objects; 'segment' uses Segment Warehouses names (context_page_url, and "
            "properties and traits without a prefix)."
        ),
        examples=["flat", "nested", "segment"],
    ),
    th.Property(
        "integration_name",
        th.StringType,
        description=(
            "Destination name as used in Segment's 'integrations' object, such as 'Stitch'. When set, "
            "messages that turn this destination off ('All': false without the name set true, or "
            "the name set false) are skipped and counted, as Segment would have filtered them."
        ),
        examples=["Stitch"],
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
        "report_interval_seconds",
        th.NumberType,
        default=60,
        description="Listen mode: seconds between interim run reports on stderr (and in 'report_path').",
        examples=[60],
    ),
    th.Property(
        "max_columns_per_stream",
        th.IntegerType(minimum=20),
        default=DEFAULT_MAX_COLUMNS,
        description=(
            "Column budget per stream. Keys past it are kept as JSON text in the '_overflow' "
            "column instead of new columns. PostgreSQL allows at most 1600 columns per table."
        ),
        examples=[1000],
    ),
    th.Property(
        "max_nesting_depth",
        th.IntegerType(minimum=1),
        default=10,
        description="In 'flat' style, objects nested deeper than this many levels are kept as JSON text.",
        examples=[10],
    ),
    th.Property(
        "dedupe_window",
        th.IntegerType(minimum=0),
        default=DEFAULT_DEDUPE_WINDOW,
        description=(
            "How many recent message ids (all streams together) a run remembers to skip duplicates. "
            "Each id costs roughly 150 bytes of memory. 0 turns duplicate skipping off."
        ),
        examples=[250000],
    ),
    th.Property(
        "state_interval_records",
        th.IntegerType(minimum=1),
        default=DEFAULT_STATE_INTERVAL_RECORDS,
        description="A STATE message is written after this many records, at least every 10 seconds while input is read, and at the end.",
        examples=[10000],
    ),
    th.Property(
        "discover_sample_size",
        th.IntegerType(minimum=0),
        default=DEFAULT_DISCOVER_SAMPLE,
        description="How many messages '--discover' reads from the configured input to find columns; 0 reads all.",
        examples=[100000],
    ),
    th.Property(
        "listen_host",
        th.StringType,
        default="127.0.0.1",
        description=(
            "Listen mode: address to bind. A non-loopback address needs 'shared_secret' or "
            "'write_keys', or 'allow_unauthenticated_public' set to true."
        ),
        examples=["127.0.0.1", "0.0.0.0"],
    ),
    th.Property("listen_port", th.IntegerType(minimum=0), default=8080, description="Listen mode: TCP port; 0 picks a free port.", examples=[8080]),
    th.Property(
        "archive_dir",
        th.StringType,
        default=DEFAULT_ARCHIVE_DIR,
        description=(
            "Listen mode: folder of the durable capture archive (NDJSON segment files). Requests are "
            "acknowledged only after their events are written and fsynced here; replay reads the same files."
        ),
        examples=["/var/lib/segment-archive"],
    ),
    th.Property(
        "shared_secret",
        th.StringType,
        secret=True,
        description="Listen mode: the Webhooks destination's shared secret; requests need a matching X-Signature (hex HMAC-SHA1 of the body).",
        examples=["a-long-random-secret"],
    ),
    th.Property(
        "write_keys",
        th.ArrayType(th.StringType),
        secret=True,
        default=[],
        description="Listen mode: accepted Segment write keys, sent as the HTTP Basic user name or as 'writeKey' in the body.",
        examples=[["my-source-write-key"]],
    ),
    th.Property(
        "allow_unauthenticated_public",
        th.BooleanType,
        default=False,
        description="Listen mode: allow a non-loopback 'listen_host' without 'shared_secret' or 'write_keys'.",
        examples=[False],
    ),
    th.Property(
        "batch_signature",
        th.StringType,
        default="first_element",
        allowed_values=["first_element", "whole_body"],
        description=(
            "Listen mode: 'first_element' also accepts an X-Signature over the first element of a "
            "JSON array, as Segment's batching Webhooks (Actions) sign, which lets anyone holding "
            "one signed event append others; 'whole_body' accepts only a signature over the whole raw body."
        ),
        examples=["first_element", "whole_body"],
    ),
    th.Property(
        "request_timeout_seconds",
        th.NumberType,
        default=30,
        description=(
            "Listen mode: seconds a client has to send the request headers (counted from connecting "
            "or from the previous response, so idle kept-alive connections also close after it), and "
            "again to send the whole body; a late body gets 408."
        ),
        examples=[30],
    ),
    th.Property(
        "webhook_path",
        th.StringType,
        default="/",
        description="Listen mode: the path Segment's Webhooks destination posts to (the Tracking API paths /v1/... are always served).",
        examples=["/", "/segment"],
    ),
    th.Property("max_body_bytes", th.IntegerType(minimum=1), default=16 * 1024 * 1024, description="Listen mode: largest request body accepted, in bytes, as received (413 past it).", examples=[16777216]),
    th.Property("max_decompressed_bytes", th.IntegerType(minimum=1), default=64 * 1024 * 1024, description="Listen mode: largest request body after gzip decompression, in bytes (413 past it).", examples=[67108864]),
    th.Property("archive_segment_max_bytes", th.IntegerType(minimum=1), default=64 * 1024 * 1024, description="Listen mode: an archive segment file is closed past this many bytes.", examples=[67108864]),
    th.Property("archive_segment_max_seconds", th.NumberType, default=300, description="Listen mode: an archive segment file is closed after this many seconds.", examples=[300]),
    th.Property(
        "archive_max_bytes",
        th.IntegerType(minimum=1),
        description=(
            "Listen mode: disk budget of the archive folder in bytes. Past it, requests get 503 so "
            "Segment retries later. Unset means no budget beyond 'archive_min_free_bytes'."
        ),
        examples=[10737418240],
    ),
    th.Property("archive_min_free_bytes", th.IntegerType(minimum=0), default=256 * 1024 * 1024, description="Listen mode: free disk space to keep; below it requests get 503.", examples=[268435456]),
    th.Property("shutdown_timeout_seconds", th.NumberType, default=10, description="Listen mode: seconds in-flight requests get to finish when the tap stops.", examples=[10]),
    th.Property("max_run_seconds", th.NumberType, description="Listen mode: stop after this many seconds, with a final STATE and exit code 0. Unset runs until SIGTERM or SIGINT.", examples=[3600]),
    th.Property("idle_timeout_seconds", th.NumberType, description="Listen mode: stop after this many seconds without a new event. Unset never stops for idleness.", examples=[300]),
)
