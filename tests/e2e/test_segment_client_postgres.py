"""Replay real segment-analytics-python batch bodies into PostgreSQL through target-postgres.

The input is `tests/fixtures/segment_client/captured/`: one plain and one
gzipped `/v1/batch` body, recorded from the real client by `capture.py` in
the same folder. Expected counts and ids are read from those files directly,
not through the tap.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from helpers import (
    DEFAULT_STREAMS,
    Postgres,
    captured_messages,
    count_by_type,
    load,
    message_ids_by_type,
    run_tap,
)

pytestmark = pytest.mark.e2e

CAPTURED = Path(__file__).parent.parent / "fixtures" / "segment_client" / "captured"
MESSAGES = captured_messages(CAPTURED)
COUNTS = count_by_type(MESSAGES)
IDS = message_ids_by_type(MESSAGES)

TEXT = "text"
NUMERIC = "numeric"
BOOLEAN = "boolean"
TIMESTAMP = "timestamp without time zone"
JSONB = "jsonb"

# Columns every loaded table has, whatever the column style. The client sends
# `sentAt` once per batch envelope, and every message of the batch carries it.
ENVELOPE_COLUMNS = {"message_id": TEXT, "type": TEXT, "timestamp": TIMESTAMP, "sent_at": TIMESTAMP}

# flat: table -> column -> information_schema data_type.
FLAT_COLUMNS = {
    "identify": {
        "user_id": TEXT,
        "anonymous_id": TEXT,
        "traits__email": TEXT,
        "traits__name": TEXT,
        "traits__logins": NUMERIC,
        "traits__verified": BOOLEAN,
        "traits__created_at": TEXT,
        "traits__tags": TEXT,
        "traits__address__city": TEXT,
        "traits__address__postal_code": TEXT,
        "context__ip": TEXT,
        "context__library__name": TEXT,
        "context__library__version": TEXT,
    },
    "track": {
        "user_id": TEXT,
        "event": TEXT,
        "properties__order_id": TEXT,
        "properties__revenue": NUMERIC,
        "properties__revenue__string": TEXT,
        "properties__discount": NUMERIC,
        "properties__external_id": NUMERIC,
        "properties__gift_wrap": BOOLEAN,
        "properties__products": TEXT,
        "properties__shipping__method": TEXT,
        "properties__shipping__cost": NUMERIC,
        "integrations__all": BOOLEAN,
        "integrations__mixpanel": BOOLEAN,
        "context__page__path": TEXT,
        "context__library__name": TEXT,
    },
    "page": {
        "user_id": TEXT,
        "anonymous_id": TEXT,
        "name": TEXT,
        "category": TEXT,
        "properties__url": TEXT,
        "properties__referrer": TEXT,
        "context__user_agent": TEXT,
    },
    "screen": {
        "user_id": TEXT,
        "name": TEXT,
        "category": TEXT,
        "properties__step": NUMERIC,
        "properties__experiments": TEXT,
        "context__app__version": TEXT,
        "context__device__model": TEXT,
        "context__os__name": TEXT,
    },
    "group": {
        "user_id": TEXT,
        "group_id": TEXT,
        "traits__name": TEXT,
        "traits__employees": NUMERIC,
        "traits__address__city": TEXT,
    },
}

# nested: context, properties, traits and integrations stay JSON objects.
NESTED_COLUMNS = {
    "identify": {"user_id": TEXT, "traits": JSONB, "context": JSONB, "integrations": JSONB},
    "track": {"user_id": TEXT, "event": TEXT, "properties": JSONB, "context": JSONB},
    "page": {"name": TEXT, "properties": JSONB, "context": JSONB},
    "screen": {"name": TEXT, "properties": JSONB, "context": JSONB},
    "group": {"group_id": TEXT, "traits": JSONB, "context": JSONB},
}


def tap_config(column_style: str) -> dict:
    return {"input_paths": [str(CAPTURED)], "column_style": column_style}


def row(postgres: Postgres, schema: str, table: str, message_id: str, expression: str):
    """Return one SQL expression evaluated on the row with `message_id`."""
    rows = postgres.query(
        f'SELECT {expression} FROM "{schema}"."{table}" WHERE message_id = %s',
        (message_id,),
    )
    assert len(rows) == 1, f"{table} has {len(rows)} rows with message_id {message_id}"
    return rows[0][0]


def test_captured_fixture_covers_every_call() -> None:
    assert set(COUNTS) == set(DEFAULT_STREAMS) | {"alias"}
    assert sum(COUNTS.values()) == len(MESSAGES)


def load_captured(postgres: Postgres, column_style: str):
    schema = f"test_segment_client_{column_style}_{uuid.uuid4().hex[:8]}"
    final_state = load(tap_config(column_style), schema, sqlalchemy_url=postgres.sqlalchemy_url)
    return column_style, schema, final_state


@pytest.fixture(scope="module")
def flat_load(postgres: Postgres):
    """Load the captured archive in the flat style; yield (style, schema, final state)."""
    loaded = load_captured(postgres, "flat")
    yield loaded
    postgres.drop_schema(loaded[1])


@pytest.fixture(scope="module")
def nested_load(postgres: Postgres):
    """Load the captured archive in the nested style; yield (style, schema, final state)."""
    loaded = load_captured(postgres, "nested")
    yield loaded
    postgres.drop_schema(loaded[1])


@pytest.fixture(params=["flat", "nested"])
def loaded(request):
    """Each column style's load, made once per module."""
    return request.getfixturevalue(f"{request.param}_load")


def test_loads_default_streams_only(loaded, postgres: Postgres) -> None:
    _, schema, _ = loaded
    tables = postgres.tables(schema)

    assert tables == set(DEFAULT_STREAMS)
    assert "alias" not in tables


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_row_count_per_table(loaded, postgres: Postgres, table: str) -> None:
    _, schema, _ = loaded

    assert postgres.row_count(schema, table) == COUNTS[table]


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_message_ids_unique_and_complete(loaded, postgres: Postgres, table: str) -> None:
    _, schema, _ = loaded
    loaded_ids = postgres.column_values(schema, table, "message_id")

    assert len(loaded_ids) == len(set(loaded_ids))
    assert set(loaded_ids) == IDS[table]
    assert postgres.primary_key(schema, table) == ["message_id"]


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_column_names_and_types(loaded, postgres: Postgres, table: str) -> None:
    column_style, schema, _ = loaded
    expected = dict(ENVELOPE_COLUMNS)
    expected.update((FLAT_COLUMNS if column_style == "flat" else NESTED_COLUMNS)[table])
    actual = postgres.column_types(schema, table)

    for column, data_type in expected.items():
        assert column in actual, f"{table}.{column} missing; columns: {sorted(actual)}"
        assert actual[column] == data_type, f"{table}.{column} is {actual[column]}"
    assert "write_key" not in actual
    assert "writeKey" not in actual
    for column in actual:
        assert column == column.lower(), f"{table}.{column} is not lower case"


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_nested_style_has_no_flattened_columns(nested_load, postgres: Postgres, table: str) -> None:
    _, schema, _ = nested_load
    flattened = [c for c in postgres.column_names(schema, table) if "__" in c]

    assert flattened == []


def test_flat_null_only_key_has_no_column(flat_load, postgres: Postgres) -> None:
    _, schema, _ = flat_load

    # Every captured `properties.coupon` is null.
    assert "properties__coupon" not in postgres.column_names(schema, "track")


def test_timestamps_stored_as_utc(loaded, postgres: Postgres) -> None:
    _, schema, _ = loaded
    # target-postgres converts an aware value to the session time zone. This
    # connection uses the same server default, so both sides convert alike.
    expected = postgres.query("SELECT (timestamptz '2024-05-01 09:30:00+00')::timestamp")[0][0]

    assert row(postgres, schema, "identify", "capture-identify-1", '"timestamp"') == expected


def test_flat_values_survive_load(flat_load, postgres: Postgres) -> None:
    _, schema, _ = flat_load

    city = row(postgres, schema, "identify", "capture-identify-3", "traits__address__city")
    assert city == "Zürich"
    name = row(postgres, schema, "identify", "capture-identify-3", "traits__name")
    assert name == "Zoë Müller 🚀"
    logins = row(postgres, schema, "identify", "capture-identify-1", "traits__logins")
    assert logins == 12
    tags = row(postgres, schema, "identify", "capture-identify-2", "traits__tags")
    assert json.loads(tags) == ["beta", "newsletter"]

    revenue = row(postgres, schema, "track", "capture-track-order-2", "properties__revenue")
    assert revenue == Decimal("1999.99")
    external_id = row(postgres, schema, "track", "capture-track-order-3", "properties__external_id")
    assert external_id == Decimal(18446744073709551629)
    products = row(postgres, schema, "track", "capture-track-order-1", "properties__products")
    assert [p["productId"] for p in json.loads(products)] == ["sku-0-0", "sku-0-1"]
    gift_wrap = row(postgres, schema, "track", "capture-track-order-2", "properties__gift_wrap")
    assert gift_wrap is True

    refund_revenue = row(postgres, schema, "track", "capture-track-refund-1", "properties__revenue")
    assert refund_revenue is None
    refund_text = row(
        postgres, schema, "track", "capture-track-refund-1", "properties__revenue__string"
    )
    assert refund_text == "n/a"


def test_nested_values_survive_load(nested_load, postgres: Postgres) -> None:
    _, schema, _ = nested_load

    traits = row(postgres, schema, "identify", "capture-identify-3", "traits")
    assert traits["address"]["city"] == "Zürich"
    assert traits["name"] == "Zoë Müller 🚀"
    assert traits["tags"] == ["beta", "newsletter"]

    external_id = row(
        postgres, schema, "track", "capture-track-order-3", "properties->>'externalId'"
    )
    assert external_id == "18446744073709551629"
    refund = row(postgres, schema, "track", "capture-track-refund-1", "properties")
    assert refund["revenue"] == "n/a"
    library = row(postgres, schema, "screen", "capture-screen-1", "context->'library'->>'name'")
    assert library == "analytics-python"


def test_second_run_with_state_adds_nothing(loaded, postgres: Postgres) -> None:
    column_style, schema, final_state = loaded
    assert final_state, "target-postgres printed no state after the first load"
    counts_before = {t: postgres.row_count(schema, t) for t in DEFAULT_STREAMS}
    batched_before = {
        t: postgres.query(f'SELECT max(_sdc_batched_at) FROM "{schema}"."{t}"')[0][0]
        for t in DEFAULT_STREAMS
    }

    rerun = run_tap(tap_config(column_style), state=final_state).check()
    assert rerun.records() == []

    second_state = load(
        tap_config(column_style), schema, state=final_state, sqlalchemy_url=postgres.sqlalchemy_url
    )
    assert second_state is not None
    for table in DEFAULT_STREAMS:
        assert postgres.row_count(schema, table) == counts_before[table]
        # An upsert of the same rows would keep the count but rewrite the rows.
        batched = postgres.query(f'SELECT max(_sdc_batched_at) FROM "{schema}"."{table}"')[0][0]
        assert batched == batched_before[table], f"{table} rows were rewritten"


def test_selected_alias_loads_through_catalog(postgres: Postgres, pg_schema: str) -> None:
    discovered = run_tap(tap_config("flat"), args=["--discover"])
    assert discovered.returncode == 0, discovered.stderr
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "alias":
            for metadata in entry["metadata"]:
                if metadata["breadcrumb"] == []:
                    metadata["metadata"]["selected"] = True

    load(tap_config("flat"), pg_schema, catalog=catalog, sqlalchemy_url=postgres.sqlalchemy_url)

    assert "alias" in postgres.tables(pg_schema)
    assert set(postgres.column_values(pg_schema, "alias", "message_id")) == IDS["alias"]
    assert postgres.column_types(pg_schema, "alias")["previous_id"] == TEXT
    for table in DEFAULT_STREAMS:
        assert postgres.row_count(pg_schema, table) == COUNTS[table]
