"""Install the command line tools that end-to-end tests run, each in its own virtual environment.

The environments live under `.venv-tools/` at the repository root, which git ignores, and are
reused by later test sessions: an environment is installed again only when its requirement
changes or an earlier install did not finish.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPOSITORY / ".venv-tools"

# Seconds one `pip install` of a tool may take; a first install takes about a minute here.
INSTALL_TIMEOUT_SECONDS = 900

# Written inside an environment after its install succeeded, holding the requirement.
STAMP_NAME = "installed-requirement.txt"


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def _fail(step: str, completed: subprocess.CompletedProcess[str]) -> None:
    pytest.fail(
        f"{step} failed with exit code {completed.returncode}: {' '.join(completed.args)}\n"
        f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}",
        pytrace=False,
    )


def tool_venv(name: str, requirement: str) -> Path:
    """Return the `bin` folder of the environment `name` with `requirement` installed.

    Fails the calling test, with pip's output, when the environment cannot be created or the
    install fails. A lock file serializes concurrent test sessions that install the same tool.
    """
    TOOLS_DIR.mkdir(exist_ok=True)
    venv = TOOLS_DIR / name
    stamp = venv / STAMP_NAME
    with open(TOOLS_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == requirement:
            return venv / "bin"
        # The environment is created from the interpreter that runs pytest, so it has the
        # same Python version as the project's own environment.
        created = _run([sys.executable, "-m", "venv", "--clear", str(venv)], timeout=300)
        if created.returncode != 0:
            _fail(f"creating the virtual environment {venv}", created)
        installed = _run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", requirement],
            timeout=INSTALL_TIMEOUT_SECONDS,
        )
        if installed.returncode != 0:
            _fail(f"installing {requirement}", installed)
        stamp.write_text(requirement)
    return venv / "bin"
