"""Fixtures shared by the whole suite: the PostgreSQL server and per-test schemas."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

from helpers.postgres import DATABASE, HOST, PORT, USERS, Postgres, connect

FIXTURES = Path(__file__).parent / "fixtures"


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """Connection to the local test database.

    Tests that need it are skipped when the server is unreachable, but with
    CI=true they fail instead, because CI must never pass without the
    database tests.
    """
    try:
        database = connect()
    except psycopg.OperationalError as error:
        message = (
            f"PostgreSQL is not reachable at {HOST}:{PORT}/{DATABASE} "
            f"as any of the roles {', '.join(USERS)}. Start it, for example with: "
            'pg_ctlcluster --skip-systemctl-redirect "$(pg_lsclusters -h | cut -d" " -f1)" main start'
            f"\n{error}"
        )
        if _running_in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield database
    finally:
        database.connection.close()


@pytest.fixture
def pg_schema(postgres: Postgres) -> Iterator[str]:
    """A schema name of this test's own, dropped with everything in it afterwards.

    target-postgres creates the schema on its first load.
    """
    name = f"test_{uuid.uuid4().hex[:12]}"
    postgres.drop_schema(name)
    try:
        yield name
    finally:
        postgres.drop_schema(name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the database, so `-m "not postgres"` skips them."""
    for item in items:
        if "postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
