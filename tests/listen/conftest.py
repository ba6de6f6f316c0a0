"""A real listener on a free loopback port, with its archive and rejects file in tmp_path."""

from __future__ import annotations

import dataclasses
import typing as t
from pathlib import Path

import orjson
import pytest

from tap_segment_webhook.listen.follow import ArchiveFollower
from tap_segment_webhook.listen.service import ListenerService, ListenSettings
from tap_segment_webhook.report.rejects import RejectsWriter


@dataclasses.dataclass
class RunningListener:
    service: ListenerService
    rejects: RejectsWriter
    archive_dir: Path
    rejects_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.bound_port}"

    def archived(self) -> list[dict[str, t.Any]]:
        messages = []
        for path in ArchiveFollower(self.archive_dir).segments():
            with open(path, "rb") as segment:
                messages.extend(orjson.loads(line) for line in segment)
        return messages

    def rejected(self) -> list[dict[str, t.Any]]:
        self.rejects.flush()
        if not self.rejects_path.exists():
            return []
        return [orjson.loads(line) for line in self.rejects_path.read_bytes().splitlines()]


@pytest.fixture
def start_listener(tmp_path: Path) -> t.Iterator[t.Callable[..., RunningListener]]:
    """Start a listener with the given config keys on top of test defaults; stopped afterwards."""
    started: list[RunningListener] = []

    def start(**config: t.Any) -> RunningListener:
        archive_dir = tmp_path / f"archive-{len(started)}"
        rejects_path = tmp_path / f"rejects-{len(started)}.ndjson"
        values = {"listen_port": 0, "archive_dir": str(archive_dir), "archive_min_free_bytes": 0, **config}
        rejects = RejectsWriter(rejects_path)
        service = ListenerService(ListenSettings.from_config(values), rejects, lambda: {"records": 0})
        service.start()
        listener = RunningListener(service, rejects, archive_dir, rejects_path)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.service.stop(5)
        listener.rejects.close()
