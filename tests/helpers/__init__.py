"""Shared test helpers: run the tap and target-postgres, and inspect PostgreSQL."""

from helpers.postgres import Postgres, connect
from helpers.segment import (
    ALL_STREAMS,
    DEFAULT_STREAMS,
    captured_messages,
    count_by_type,
    message_ids_by_type,
)
from helpers.singer import (
    DEFAULT_SQLALCHEMY_URL,
    PipelineError,
    TapResult,
    load,
    parse_singer_lines,
    run_tap,
    venv_executable,
)

__all__ = [
    "ALL_STREAMS",
    "DEFAULT_SQLALCHEMY_URL",
    "DEFAULT_STREAMS",
    "PipelineError",
    "Postgres",
    "TapResult",
    "captured_messages",
    "connect",
    "count_by_type",
    "load",
    "message_ids_by_type",
    "parse_singer_lines",
    "run_tap",
    "venv_executable",
]
