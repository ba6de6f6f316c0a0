"""`meltano run tap-segment-webhook target-postgres` three times over one growing NDJSON file.

The first run loads everything, the second finds nothing new because Meltano passes the stored
state back to the tap, and the third loads only the line appended after the second run.
The rows a run wrote are shown by `_sdc_batched_at`, which target-postgres sets on every row it
inserts or updates.
"""

from __future__ import annotations

import collections
import json
import shutil
import typing as t
from pathlib import Path

import pytest

from e2e_meltano.project import MeltanoProject, loaded_batches
from helpers import DEFAULT_STREAMS, Postgres

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "webhook-events.ndjson"

APPENDED = {
    "type": "track",
    "messageId": "meltano-appended-0001",
    "userId": "user-2001",
    "event": "Order Refunded",
    "properties": {"orderId": "ord-9", "revenue": 12.5},
    "timestamp": "2025-03-06T08:00:00.000Z",
}


def message_ids(path: Path) -> dict[str, set[str]]:
    """Return the distinct message ids per type of an NDJSON file, read without the tap."""
    ids: dict[str, set[str]] = collections.defaultdict(set)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            message = json.loads(line)
            ids[message["type"]].add(message["messageId"])
    return ids


class Runs(t.NamedTuple):
    expected: dict[str, set[str]]
    first: dict[str, dict[str, t.Any]]
    second: dict[str, dict[str, t.Any]]
    third: dict[str, dict[str, t.Any]]
    state: dict[str, t.Any]
    events: Path


@pytest.fixture(scope="module")
def runs(module_project: MeltanoProject, postgres: Postgres) -> Runs:
    project = module_project
    events = project.input_dir / "events.ndjson"
    shutil.copyfile(SAMPLE, events)
    expected = message_ids(events)

    def snapshot() -> dict[str, dict[str, t.Any]]:
        return {
            table: loaded_batches(postgres, project.schema, table) for table in DEFAULT_STREAMS
        }

    project.run()
    first = snapshot()
    project.run()
    second = snapshot()
    with events.open("a", encoding="utf-8") as file:
        file.write(json.dumps(APPENDED) + "\n")
    project.run()
    third = snapshot()
    return Runs(expected, first, second, third, project.state(), events)


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_first_run_loads_all(runs: Runs, table: str) -> None:
    assert set(runs.first[table]) == runs.expected[table]


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_second_run_adds_nothing(runs: Runs, table: str) -> None:
    assert runs.second[table] == runs.first[table]


def test_third_run_adds_line(runs: Runs) -> None:
    added = set(runs.third["track"]) - set(runs.second["track"])
    assert added == {APPENDED["messageId"]}


@pytest.mark.parametrize("table", DEFAULT_STREAMS)
def test_third_run_keeps_old_rows(runs: Runs, table: str) -> None:
    appended = APPENDED["messageId"]
    old_rows = {key: value for key, value in runs.third[table].items() if key != appended}
    assert old_rows == runs.second[table]


def test_state_offset_at_end(runs: Runs) -> None:
    bookmark = runs.state["singer_state"]["replay"]["files"][str(runs.events)]
    assert bookmark["offset"] == runs.events.stat().st_size
