"""Hash `traits__email` with a singer-sdk stream map in the tap, then load into PostgreSQL.

The capture contains three identify calls with `traits.email` and one without it, so the map
expression must leave a missing address missing instead of failing on it.
"""

from __future__ import annotations

import hashlib
import re
import typing as t
from pathlib import Path

import pytest

from helpers import Postgres, captured_messages, load

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CAPTURED = Path(__file__).resolve().parents[1] / "fixtures" / "segment_client" / "captured"
EMAILS = [
    message["traits"]["email"]
    for message in captured_messages(CAPTURED)
    if message["type"] == "identify" and "email" in message.get("traits", {})
]

# `record` is the flattened record as the tap emits it; a plain `sha256(traits__email)`
# raises MapExpressionError for a record without the key.
HASH_EMAIL = "sha256(record['traits__email']) if record.get('traits__email') else None"

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(scope="module")
def identify_rows(
    postgres: Postgres, module_schema: str, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[t.Any, str]]:
    folder = tmp_path_factory.mktemp("pii")
    config = {
        "input_paths": [str(CAPTURED)],
        "rejects_path": str(folder / "rejects.ndjson"),
        "stream_maps": {"identify": {"traits__email": HASH_EMAIL}},
    }
    load(config, module_schema, sqlalchemy_url=postgres.sqlalchemy_url, cwd=folder)
    # The whole row as text, so an address in any column, JSON or metadata shows up.
    return postgres.query(
        f'SELECT traits__email, t::text FROM "{module_schema}".identify AS t'
    )


def test_capture_has_emails() -> None:
    assert len(EMAILS) == 3


def test_hashes_are_hex(identify_rows: list[tuple[t.Any, str]]) -> None:
    hashes = [email for email, _ in identify_rows if email is not None]
    assert all(SHA256_HEX.fullmatch(value) for value in hashes)


def test_hashes_match_addresses(identify_rows: list[tuple[t.Any, str]]) -> None:
    hashes = sorted(email for email, _ in identify_rows if email is not None)
    assert hashes == sorted(hashlib.sha256(email.encode()).hexdigest() for email in EMAILS)


@pytest.mark.parametrize("email", EMAILS)
def test_no_raw_address(identify_rows: list[tuple[t.Any, str]], email: str) -> None:
    assert not [row for _, row in identify_rows if email in row]
