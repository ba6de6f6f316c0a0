"""Rebuild one table and replay everything again with `meltano run`, as docs/reset.md describes.

The rows a run wrote are shown by `_sdc_batched_at`, which target-postgres sets on every row it
inserts or updates.
"""

from __future__ import annotations

import json
import shutil
import typing as t
from pathlib import Path

import pytest

from e2e_meltano.project import MeltanoProject, loaded_batches
from helpers import DEFAULT_STREAMS, Postgres, captured_messages, message_ids_by_type

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CAPTURED = Path(__file__).resolve().parents[1] / "fixtures" / "segment_client" / "captured"
IDS = message_ids_by_type(captured_messages(CAPTURED))
REBUILT = "track"
OTHERS = [table for table in DEFAULT_STREAMS if table != REBUILT]

Snapshot = dict[str, dict[str, t.Any]]


class Resets(t.NamedTuple):
    loaded: Snapshot
    rebuilt: Snapshot
    incremental: Snapshot
    replayed: Snapshot
    state_loaded: dict[str, t.Any]
    state_rebuilt: dict[str, t.Any]


@pytest.fixture(scope="module")
def resets(module_project: MeltanoProject, postgres: Postgres) -> Resets:
    project = module_project
    for path in CAPTURED.iterdir():
        if path.name.startswith("batch-"):
            shutil.copyfile(path, project.input_dir / path.name)

    def snapshot() -> Snapshot:
        return {
            table: loaded_batches(postgres, project.schema, table) for table in DEFAULT_STREAMS
        }

    project.run()
    loaded = snapshot()
    state_loaded = project.state()

    # Rebuild one table from empty: drop it, then replay with only its stream selected,
    # ignoring and keeping the pipeline's state.
    postgres.query(f'DROP TABLE "{project.schema}"."{REBUILT}"')
    project.run(
        "--full-refresh",
        "--no-state-update",
        env={"TAP_SEGMENT_WEBHOOK__SELECT_FILTER": json.dumps([REBUILT])},
    )
    rebuilt = snapshot()
    state_rebuilt = project.state()

    project.run()
    incremental = snapshot()

    project.run("--full-refresh")
    replayed = snapshot()
    return Resets(loaded, rebuilt, incremental, replayed, state_loaded, state_rebuilt)


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_first_run_loads_all(resets: Resets, table: str) -> None:
    assert set(resets.loaded[table]) == IDS[table]


def test_rebuild_restores_rows(resets: Resets) -> None:
    assert set(resets.rebuilt[REBUILT]) == IDS[REBUILT]


@pytest.mark.parametrize("table", OTHERS)
def test_rebuild_leaves_others(resets: Resets, table: str) -> None:
    assert resets.rebuilt[table] == resets.loaded[table]


def test_rebuild_keeps_state(resets: Resets) -> None:
    assert resets.state_rebuilt == resets.state_loaded


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_incremental_after_rebuild(resets: Resets, table: str) -> None:
    assert resets.incremental[table] == resets.rebuilt[table]


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_full_refresh_same_ids(resets: Resets, table: str) -> None:
    assert set(resets.replayed[table]) == IDS[table]


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_full_refresh_rewrites_rows(resets: Resets, table: str) -> None:
    before = resets.incremental[table]
    unchanged = {key for key, value in resets.replayed[table].items() if before[key] == value}
    assert unchanged == set()
