"""segment-analytics-python posting to the running tap, loaded into PostgreSQL by target-postgres."""

from __future__ import annotations

import pytest
from psycopg import sql
from segment.analytics import Client

from listen_processes import DEFAULT_STREAMS, listen_config

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WRITE_KEY = "e2e-write-key"
STAMPED_COLUMNS = ("message_id", "received_at", "original_timestamp", "timestamp", "context__ip")


def test_library_calls_fill_tables(tmp_path, start_pipeline, postgres, pg_schema) -> None:
    pipeline = start_pipeline(listen_config(tmp_path, write_keys=[WRITE_KEY]))
    pipeline.wait_ready()
    errors: list[Exception] = []
    # host must be the local listener, never the library's default Segment host. The
    # library's own consumer thread batches the calls and posts them to /v1/batch, gzipped.
    client = Client(
        WRITE_KEY,
        host=pipeline.url,
        gzip=True,
        max_retries=0,
        on_error=lambda error, _batch: errors.append(error),
    )
    sent = {
        "identify": client.identify("user-1", {"email": "a@example.com"})[1],
        "track": client.track("user-1", "Order Completed", {"revenue": 42.5})[1],
        "page": client.page("user-1", "Docs", "Install")[1],
        "screen": client.screen("user-1", "Home", "Start")[1],
        "group": client.group("user-1", "group-1", {"name": "Acme"})[1],
        "alias": client.alias("user-1", "user-2")[1],
    }
    client.flush()
    client.join()
    pipeline.stop()

    assert errors == []
    tables = postgres.tables(pg_schema)
    # The tap selects alias only when a catalog selects it.
    assert "alias" not in tables
    for stream in DEFAULT_STREAMS:
        assert stream in tables, pipeline.describe()
        statement = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(sql.Identifier(column) for column in STAMPED_COLUMNS),
            sql.Identifier(pg_schema, stream),
        )
        rows = postgres.query(statement)
        assert len(rows) == 1, f"{stream}: {rows}"
        row = dict(zip(STAMPED_COLUMNS, rows[0]))
        assert row["message_id"] == sent[stream]["messageId"], stream
        assert row["received_at"] is not None, stream
        assert row["original_timestamp"] is not None, stream
        assert row["timestamp"] is not None, stream
        assert row["context__ip"] == "127.0.0.1", stream
