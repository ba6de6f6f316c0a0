"""Fixtures that start listen-mode taps and pipelines and kill whatever a test leaves running."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from listen_processes import ListenPipeline, ListenTap

from helpers import Postgres


@pytest.fixture
def start_tap(tmp_path: Path) -> t.Iterator[t.Callable[..., ListenTap]]:
    """Start listen-mode taps with stdout as given, and kill every one still running afterwards."""
    started: list[ListenTap] = []

    def start(config: dict[str, t.Any], *, stdout: t.Any = None, state: dict[str, t.Any] | None = None) -> ListenTap:
        tap = ListenTap(tmp_path / f"tap-{len(started)}", config, state, stdout)
        started.append(tap)
        return tap

    yield start
    for tap in started:
        tap.kill()


@pytest.fixture
def start_pipeline(
    tmp_path: Path, postgres: Postgres, pg_schema: str
) -> t.Iterator[t.Callable[..., ListenPipeline]]:
    """Start `tap | target-postgres` pipelines loading into `pg_schema`, and kill them afterwards."""
    started: list[ListenPipeline] = []

    def start(config: dict[str, t.Any], *, state: dict[str, t.Any] | None = None) -> ListenPipeline:
        target_config = {
            "sqlalchemy_url": postgres.sqlalchemy_url,
            "default_target_schema": pg_schema,
            # Small batches make the target load rows, and print STATE, soon after they arrive.
            "batch_size_rows": 10,
        }
        pipeline = ListenPipeline(tmp_path / f"run-{len(started)}", config, target_config, state)
        started.append(pipeline)
        return pipeline

    yield start
    for pipeline in started:
        pipeline.kill()
