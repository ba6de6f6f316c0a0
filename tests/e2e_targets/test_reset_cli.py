"""Rebuild one table with the tap and target-postgres alone, as docs/reset.md describes.

The catalog from `--discover` selects only the rebuilt stream, and the replay gets no state.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from e2e_meltano.project import loaded_batches
from helpers import DEFAULT_STREAMS, Postgres, captured_messages, load, message_ids_by_type, run_tap

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CAPTURED = Path(__file__).resolve().parents[1] / "fixtures" / "segment_client" / "captured"
IDS = message_ids_by_type(captured_messages(CAPTURED))
REBUILT = "identify"
OTHERS = [table for table in DEFAULT_STREAMS if table != REBUILT]

Snapshot = dict[str, dict[str, t.Any]]


def select_only(catalog: dict[str, t.Any], stream: str) -> dict[str, t.Any]:
    """Mark `stream` selected and every other stream deselected in a discovered catalog."""
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] == stream
    return catalog


class Rebuild(t.NamedTuple):
    loaded: Snapshot
    rebuilt: Snapshot


@pytest.fixture(scope="module")
def rebuild(
    postgres: Postgres, module_schema: str, tmp_path_factory: pytest.TempPathFactory
) -> Rebuild:
    folder = tmp_path_factory.mktemp("reset")
    config = {"input_paths": [str(CAPTURED)], "rejects_path": str(folder / "rejects.ndjson")}

    def snapshot() -> Snapshot:
        return {table: loaded_batches(postgres, module_schema, table) for table in DEFAULT_STREAMS}

    load(config, module_schema, sqlalchemy_url=postgres.sqlalchemy_url, cwd=folder)
    loaded = snapshot()
    discovered = run_tap(config, args=["--discover"]).check()
    catalog = select_only(json.loads(discovered.stdout), REBUILT)
    postgres.query(f'DELETE FROM "{module_schema}"."{REBUILT}"')
    load(config, module_schema, catalog=catalog, sqlalchemy_url=postgres.sqlalchemy_url, cwd=folder)
    return Rebuild(loaded, snapshot())


def test_rebuild_restores_rows(rebuild: Rebuild) -> None:
    assert set(rebuild.rebuilt[REBUILT]) == IDS[REBUILT]


@pytest.mark.parametrize("table", OTHERS)
def test_rebuild_leaves_others(rebuild: Rebuild, table: str) -> None:
    assert rebuild.rebuilt[table] == rebuild.loaded[table]
