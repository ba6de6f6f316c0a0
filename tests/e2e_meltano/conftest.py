"""Fixtures that install Meltano and its plugins and create temporary Meltano projects."""

from __future__ import annotations

import subprocess
import typing as t
from pathlib import Path

import pytest

from e2e_meltano.project import (
    INSTALL_TIMEOUT_SECONDS,
    MELTANO_REQUIREMENT,
    MeltanoProject,
    base_environment,
    make_project,
    temporary_schema,
    write_project,
)
from e2e_meltano.tool_venvs import tool_venv
from helpers import Postgres


@pytest.fixture(scope="session")
def meltano_bin() -> Path:
    """The `bin` folder of the cached Meltano installation."""
    return tool_venv("meltano", MELTANO_REQUIREMENT)


@pytest.fixture(scope="session")
def meltano_plugins(meltano_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Install or refresh the extractor and loader environments, once per test session."""
    folder = tmp_path_factory.mktemp("meltano-install")
    write_project(folder)
    completed = subprocess.run(
        [str(meltano_bin / "meltano"), "install"],
        cwd=folder,
        env=base_environment(meltano_bin, folder / "meltano.db"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    if completed.returncode != 0:
        pytest.fail(
            f"meltano install failed with exit code {completed.returncode}\n"
            f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def module_schema(postgres: Postgres) -> t.Iterator[str]:
    """A schema shared by the tests of one module, dropped afterwards."""
    yield from temporary_schema(postgres)


@pytest.fixture(scope="module")
def module_project(
    tmp_path_factory: pytest.TempPathFactory,
    meltano_bin: Path,
    meltano_plugins: None,
    postgres: Postgres,
    module_schema: str,
) -> MeltanoProject:
    """A Meltano project shared by the tests of one module."""
    return make_project(tmp_path_factory.mktemp("meltano"), meltano_bin, postgres, module_schema)
