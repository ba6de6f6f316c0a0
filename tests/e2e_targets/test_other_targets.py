"""Load the segment-analytics-python capture through pipelinewise-target-postgres and target-jsonl.

Expected rows are read from the captured `/v1/batch` bodies directly, not through the tap.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from e2e_targets.pipeline import pipe
from helpers import DEFAULT_STREAMS, Postgres, captured_messages, message_ids_by_type

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CAPTURED = Path(__file__).resolve().parents[1] / "fixtures" / "segment_client" / "captured"
IDS = message_ids_by_type(captured_messages(CAPTURED))


def tap_config(folder: Path) -> dict[str, t.Any]:
    return {"input_paths": [str(CAPTURED)], "rejects_path": str(folder / "rejects.ndjson")}


def pipelinewise_config(postgres: Postgres, schema: str) -> dict[str, t.Any]:
    # pipelinewise rejects a config without a non-empty password, even where the server
    # trusts local connections and never requests one.
    return {
        "host": "127.0.0.1",
        "port": 5432,
        "user": postgres.user,
        "password": "unused-with-trust-authentication",
        "dbname": "test",
        "default_target_schema": schema,
    }


class Loaded(t.NamedTuple):
    """Rows and columns of one table after loading the capture twice without state."""

    rows: int
    distinct_ids: set[str]
    column_types: dict[str, str]


@pytest.fixture(scope="module")
def pipelinewise_tables(
    pipelinewise_target: Path,
    postgres: Postgres,
    module_schema: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Loaded]:
    folder = tmp_path_factory.mktemp("pipelinewise")
    # The second replay without state sends every record again, which the target must
    # upsert on message_id instead of appending.
    for _ in range(2):
        target_config = pipelinewise_config(postgres, module_schema)
        pipe(tap_config(folder), pipelinewise_target, target_config, folder)
    tables = {}
    for table in postgres.tables(module_schema):
        ids = postgres.column_values(module_schema, table, "message_id")
        tables[table] = Loaded(len(ids), set(ids), postgres.column_types(module_schema, table))
    return tables


@pytest.fixture(scope="module")
def jsonl_files(
    jsonl_target: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict]]:
    folder = tmp_path_factory.mktemp("jsonl")
    output = folder / "output"
    output.mkdir()
    target_config = {"destination_path": str(output), "do_timestamp_file": False}
    pipe(tap_config(folder), jsonl_target, target_config, folder)
    return {
        path.name: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for path in output.iterdir()
    }


def test_pipelinewise_tables(pipelinewise_tables: dict[str, Loaded]) -> None:
    assert set(pipelinewise_tables) == set(DEFAULT_STREAMS)


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_pipelinewise_row_count(pipelinewise_tables: dict[str, Loaded], table: str) -> None:
    assert pipelinewise_tables[table].rows == len(IDS[table])


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_pipelinewise_ids(pipelinewise_tables: dict[str, Loaded], table: str) -> None:
    assert pipelinewise_tables[table].distinct_ids == IDS[table]


@pytest.mark.parametrize(
    ("column", "data_type"),
    [
        ("properties__revenue", "double precision"),
        ("properties__order_id", "character varying"),
        ("properties__gift_wrap", "boolean"),
        ("timestamp", "timestamp without time zone"),
    ],
)
def test_pipelinewise_column_type(
    pipelinewise_tables: dict[str, Loaded], column: str, data_type: str
) -> None:
    assert pipelinewise_tables["track"].column_types[column] == data_type


def test_jsonl_files(jsonl_files: dict[str, list[dict]]) -> None:
    assert set(jsonl_files) == {f"{stream}.jsonl" for stream in DEFAULT_STREAMS}


@pytest.mark.parametrize("stream", DEFAULT_STREAMS)
def test_jsonl_line_count(jsonl_files: dict[str, list[dict]], stream: str) -> None:
    assert len(jsonl_files[f"{stream}.jsonl"]) == len(IDS[stream])


@pytest.mark.parametrize("stream", DEFAULT_STREAMS)
def test_jsonl_ids(jsonl_files: dict[str, list[dict]], stream: str) -> None:
    ids = [record["message_id"] for record in jsonl_files[f"{stream}.jsonl"]]
    assert sorted(ids) == sorted(IDS[stream])
