"""Fixtures that install the Singer targets these tests load through, cached under .venv-tools/."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from e2e_meltano.project import temporary_schema
from e2e_meltano.tool_venvs import tool_venv
from helpers import Postgres

PIPELINEWISE_REQUIREMENT = "pipelinewise-target-postgres==2.1.2"
JSONL_REQUIREMENT = "target-jsonl==0.1.4"


@pytest.fixture(scope="session")
def pipelinewise_target() -> Path:
    """The `target-postgres` command of pipelinewise-target-postgres."""
    return tool_venv("pipelinewise-target-postgres", PIPELINEWISE_REQUIREMENT) / "target-postgres"


@pytest.fixture(scope="session")
def jsonl_target() -> Path:
    """The `target-jsonl` command."""
    return tool_venv("target-jsonl", JSONL_REQUIREMENT) / "target-jsonl"


@pytest.fixture(scope="module")
def module_schema(postgres: Postgres) -> t.Iterator[str]:
    """A schema shared by the tests of one module, dropped afterwards."""
    yield from temporary_schema(postgres)
