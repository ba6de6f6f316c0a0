"""Read captured Segment request bodies directly, to compute what a test expects.

This reader is deliberately independent of the tap's decoder. It reads only
the shape that segment-analytics-python sends to `/v1/batch`.
"""

from __future__ import annotations

import collections
import gzip
import json
from pathlib import Path
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"

# Streams that the tap selects when no catalog is given. Alias is in the
# catalog but not selected by default.
DEFAULT_STREAMS = ("group", "identify", "page", "screen", "track")
ALL_STREAMS = DEFAULT_STREAMS + ("alias",)


def read_body(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    if data.startswith(GZIP_MAGIC):
        data = gzip.decompress(data)
    return json.loads(data)


def captured_messages(folder: Path) -> list[dict[str, Any]]:
    """Return every message of every captured `/v1/batch` body under `folder`."""
    messages = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("batch-"):
            messages.extend(read_body(path)["batch"])
    return messages


def count_by_type(messages: list[dict[str, Any]]) -> dict[str, int]:
    return dict(collections.Counter(message["type"] for message in messages))


def message_ids_by_type(messages: list[dict[str, Any]]) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = collections.defaultdict(set)
    for message in messages:
        ids[message["type"]].add(message["messageId"])
    return dict(ids)
