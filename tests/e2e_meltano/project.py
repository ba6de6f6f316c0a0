"""Temporary copies of the repository's Meltano project that load into PostgreSQL.

Meltano itself is installed once into `.venv-tools/meltano`. Its system folder, which contains the
plugin environments, is `.venv-tools/meltano-system`, so the extractor and target-postgres are
installed by the first test session and only refreshed by later ones. Each project copy keeps
its own system database, so Meltano state never leaks from one test to another.
"""

from __future__ import annotations

import json
import os
import subprocess
import typing as t
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from e2e_meltano.tool_venvs import REPOSITORY, TOOLS_DIR
from helpers import Postgres

MELTANO_REQUIREMENT = "meltano==4.4.1"
EXTRACTOR = "tap-segment-webhook"
LOADER = "target-postgres"
ENVIRONMENT = "dev"
STATE_ID = f"{ENVIRONMENT}:{EXTRACTOR}-to-{LOADER}"

# Seconds one Meltano command may run. A run of the fixtures takes about 15 seconds here, and a
# `meltano install` that has to build the plugin environments takes a few minutes.
RUN_TIMEOUT_SECONDS = 300
INSTALL_TIMEOUT_SECONDS = 900

# Prefixes of environment variables that would configure Meltano or the plugins behind the
# test's back. Settings from the developer's shell must not change what a test runs.
FOREIGN_PREFIXES = ("MELTANO_", "TAP_SEGMENT_WEBHOOK", "TARGET_POSTGRES")


class MeltanoError(AssertionError):
    """A Meltano command exited with a non-zero code."""


def project_definition() -> dict[str, t.Any]:
    """Return the repository's meltano.yml with the extractor installed from this checkout."""
    definition = yaml.safe_load((REPOSITORY / "meltano.yml").read_text(encoding="utf-8"))
    for extractor in definition["plugins"]["extractors"]:
        if extractor["name"] == EXTRACTOR:
            extractor["pip_url"] = f"-e {REPOSITORY}"
    return definition


def base_environment(meltano_bin: Path, database: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(FOREIGN_PREFIXES)
    }
    env.update(
        {
            "PATH": f"{meltano_bin}{os.pathsep}{env.get('PATH', '')}",
            "MELTANO_SYS_DIR_ROOT": str(TOOLS_DIR / "meltano-system"),
            "MELTANO_DATABASE_URI": f"sqlite:///{database}",
            "MELTANO_DISABLE_TRACKING": "true",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            # pip, unlike uv, uses the package index configured for this machine.
            "MELTANO_VENV_BACKEND": "virtualenv",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def write_project(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(project_definition(), sort_keys=False)
    (folder / "meltano.yml").write_text(text, encoding="utf-8")


@dataclass
class MeltanoProject:
    """A temporary Meltano project whose extractor replays `input_dir` into one schema."""

    root: Path
    meltano: Path
    env: dict[str, str]
    input_dir: Path
    schema: str
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    def command(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
        """Run `meltano ARGS` in the project and return its stdout.

        Raises MeltanoError with Meltano's whole output when it exits with a non-zero code
        and `check` is true.
        """
        completed = subprocess.run(
            [str(self.meltano), *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        self.runs.append(completed)
        if check and completed.returncode != 0:
            raise MeltanoError(
                f"meltano {' '.join(args)} exited with code {completed.returncode}\n"
                f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
            )
        return completed.stdout

    def run(self, *flags: str, env: dict[str, str] | None = None) -> str:
        """Run `meltano run FLAGS tap-segment-webhook target-postgres` without reinstalling."""
        return self.command("run", "--no-install", *flags, EXTRACTOR, LOADER, env=env)

    def state(self) -> dict[str, t.Any]:
        """Return the Singer state Meltano stored for the pipeline, or {} when it has none."""
        output = self.command("state", "get", STATE_ID, check=False)
        start = output.find("{")
        return json.loads(output[start:]) if start >= 0 else {}


def make_project(
    folder: Path, meltano_bin: Path, postgres: Postgres, schema: str
) -> MeltanoProject:
    """Create a project in `folder` that loads `folder/input` into `schema`.

    The tap and target settings come from environment variables, as a deployment would set
    them: TAP_SEGMENT_WEBHOOK_<SETTING> and TARGET_POSTGRES_<SETTING>.
    """
    root = folder / "project"
    write_project(root)
    input_dir = folder / "input"
    input_dir.mkdir()
    env = base_environment(meltano_bin, folder / "meltano.db")
    env.update(
        {
            "TAP_SEGMENT_WEBHOOK_INPUT_PATHS": json.dumps([str(input_dir)]),
            "TAP_SEGMENT_WEBHOOK_REJECTS_PATH": str(folder / "rejects.ndjson"),
            "TARGET_POSTGRES_SQLALCHEMY_URL": postgres.sqlalchemy_url,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        }
    )
    return MeltanoProject(root, meltano_bin / "meltano", env, input_dir, schema)



def temporary_schema(postgres: Postgres) -> t.Iterator[str]:
    """Yield a new schema name and drop the schema, with everything in it, afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    postgres.drop_schema(name)
    try:
        yield name
    finally:
        postgres.drop_schema(name)


def loaded_batches(postgres: Postgres, schema: str, table: str) -> dict[str, t.Any]:
    """Return message_id -> _sdc_batched_at of every row, to tell which rows a run wrote."""
    rows = postgres.query(f'SELECT message_id, _sdc_batched_at FROM "{schema}"."{table}"')
    return dict(rows)
