"""Archive segments: group commit, rotation, names, and the 503 paths."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
import typing as t
from pathlib import Path

import orjson
import pytest

from tap_segment_webhook.listen.archive import (
    SEGMENT_NAME_PATTERN,
    ArchiveFull,
    ArchiveUnavailable,
    ArchiveWriter,
)
from tap_segment_webhook.listen.follow import ArchiveFollower


def line(number: int) -> bytes:
    return orjson.dumps({"type": "track", "n": number}) + b"\n"


def read_numbers(folder: Path) -> list[int]:
    numbers = []
    for path in ArchiveFollower(folder).segments():
        with open(path, "rb") as segment:
            numbers.extend(orjson.loads(raw)["n"] for raw in segment)
    return numbers


class SlowFsync:
    """Counts fsync calls and makes each take a while, as on a real disk."""

    def __init__(self, seconds: float = 0.02) -> None:
        self.seconds = seconds
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        with self.lock:
            self.calls += 1
        time.sleep(self.seconds)
        os.fsync(fd)


def run(coroutine: t.Awaitable[t.Any]) -> t.Any:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_concurrent_appends_share_fsyncs(tmp_path: Path) -> None:
    fsync = SlowFsync()

    async def scenario() -> ArchiveWriter:
        writer = ArchiveWriter(tmp_path, fsync=fsync)
        await writer.open()
        await asyncio.gather(*(writer.append(line(number)) for number in range(200)))
        await writer.close()
        return writer

    writer = run(scenario())
    assert sorted(read_numbers(tmp_path)) == list(range(200))
    # 200 appends in one burst need far fewer than 200 fsyncs: the first covers one append,
    # the next covers everything written while the first ran.
    assert fsync.calls < 10
    assert writer.stats["events"] == 200


def test_append_returns_after_fsync(tmp_path: Path) -> None:
    synced_sizes: list[int] = []

    def recording_fsync(fd: int) -> None:
        synced_sizes.append(os.fstat(fd).st_size)
        os.fsync(fd)

    async def scenario() -> None:
        writer = ArchiveWriter(tmp_path, fsync=recording_fsync)
        await writer.open()
        await writer.append(line(1))
        # The file fsync and the folder fsync both ran before append returned.
        assert len(synced_sizes) == 2
        assert synced_sizes[0] == len(line(1))
        await writer.close()

    run(scenario())


def test_rotation_by_size(tmp_path: Path) -> None:
    async def scenario() -> None:
        writer = ArchiveWriter(tmp_path, segment_max_bytes=50)
        await writer.open()
        for number in range(10):
            await writer.append(line(number))
        await writer.close()

    run(scenario())
    segments = ArchiveFollower(tmp_path).segments()
    assert len(segments) > 1
    assert all(os.path.getsize(path) <= 50 + len(line(10)) for path in segments)
    assert read_numbers(tmp_path) == list(range(10))


def test_rotation_by_age(tmp_path: Path) -> None:
    now = [1000.0]

    async def scenario() -> None:
        writer = ArchiveWriter(tmp_path, segment_max_seconds=60, monotonic_clock=lambda: now[0])
        await writer.open()
        await writer.append(line(1))
        now[0] += 59
        await writer.append(line(2))
        now[0] += 2
        await writer.append(line(3))
        await writer.close()

    run(scenario())
    segments = ArchiveFollower(tmp_path).segments()
    assert len(segments) == 2
    assert read_numbers(tmp_path) == [1, 2, 3]


def test_names_unique_and_sorted_across_writers(tmp_path: Path) -> None:
    clock = [1_700_000_000.0]

    async def scenario() -> None:
        first = ArchiveWriter(tmp_path, segment_max_bytes=1, wall_clock=lambda: clock[0])
        second = ArchiveWriter(tmp_path, segment_max_bytes=1, wall_clock=lambda: clock[0])
        # Two writers in one process share a pid, so make the second look like another process.
        second._pid += 1
        await first.open()
        await second.open()
        for number in range(3):
            await first.append(line(number))
        clock[0] += 1
        await second.append(line(100))
        clock[0] -= 10  # the wall clock steps back
        await first.append(line(3))
        await first.close()
        await second.close()

    run(scenario())
    names = [os.path.basename(path) for path in ArchiveFollower(tmp_path).segments()]
    assert len(names) == len(set(names)) == 5
    assert all(SEGMENT_NAME_PATTERN.match(name) for name in names)
    # After the step back the first writer reuses its last time stamp, so its fourth segment
    # still sorts after its third, and before the second writer's later one.
    assert read_numbers(tmp_path) == [0, 1, 2, 3, 100]


def test_no_segment_before_first_append(tmp_path: Path) -> None:
    async def scenario() -> None:
        writer = ArchiveWriter(tmp_path / "new")
        await writer.open()
        await writer.close()

    run(scenario())
    assert (tmp_path / "new").is_dir()
    assert ArchiveFollower(tmp_path / "new").segments() == []


def test_budget_exceeded_raises_full(tmp_path: Path) -> None:
    async def scenario() -> None:
        writer = ArchiveWriter(tmp_path, max_bytes=3 * len(line(1)))
        await writer.open()
        for number in range(3):
            await writer.append(line(number))
        with pytest.raises(ArchiveFull):
            await writer.append(line(3))
        assert writer.stats["rejected_full"] == 1
        await writer.close()

    run(scenario())
    assert read_numbers(tmp_path) == [0, 1, 2]


def test_budget_counts_existing_segments(tmp_path: Path) -> None:
    (tmp_path / "segment-20240101T000000.000Z-other-1-000001.ndjson").write_bytes(b"x" * 100)

    async def scenario() -> None:
        writer = ArchiveWriter(tmp_path, max_bytes=100)
        await writer.open()
        with pytest.raises(ArchiveFull):
            await writer.append(line(1))
        await writer.close()

    run(scenario())


def test_free_space_reserve_raises_full(tmp_path: Path) -> None:
    async def scenario() -> None:
        writer = ArchiveWriter(tmp_path, min_free_bytes=2**62)
        await writer.open()
        with pytest.raises(ArchiveFull):
            await writer.append(line(1))
        await writer.close()

    run(scenario())


def test_unwritable_folder_raises_unavailable(tmp_path: Path) -> None:
    folder = tmp_path / "archive"

    async def scenario() -> None:
        writer = ArchiveWriter(folder)
        await writer.open()
        # Removing the folder makes segment creation fail even for root, which ignores modes.
        shutil.rmtree(folder)
        with pytest.raises(ArchiveUnavailable):
            await writer.append(line(1))
        assert writer.stats["errors"] == 1
        assert "Cannot create archive segment" in (writer.last_error or "")
        folder.mkdir()
        await writer.append(line(2))
        await writer.close()

    run(scenario())
    assert read_numbers(folder) == [2]


def test_fsync_error_raises_unavailable_and_starts_new_segment(tmp_path: Path) -> None:
    failing = [True]

    def flaky_fsync(fd: int) -> None:
        if failing[0]:
            raise OSError(5, "Input/output error")
        os.fsync(fd)

    async def scenario() -> None:
        writer = ArchiveWriter(tmp_path, fsync=flaky_fsync)
        await writer.open()
        with pytest.raises(ArchiveUnavailable):
            await writer.append(line(1))
        failing[0] = False
        await writer.append(line(2))
        await writer.close()

    run(scenario())
    assert len(ArchiveFollower(tmp_path).segments()) == 2


def test_append_after_close_raises(tmp_path: Path) -> None:
    async def scenario() -> None:
        writer = ArchiveWriter(tmp_path)
        await writer.open()
        await writer.close()
        with pytest.raises(ArchiveUnavailable):
            await writer.append(line(1))

    run(scenario())


def test_follower_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "rejects.ndjson").write_text("")
    (tmp_path / "segment-notes.txt").write_text("")
    (tmp_path / "segment-20240101T000000.000Z-b-1-000001.ndjson").write_text("")
    (tmp_path / "segment-20231231T235959.999Z-z-9-000002.ndjson").write_text("")
    names = [os.path.basename(path) for path in ArchiveFollower(tmp_path).segments()]
    assert names == [
        "segment-20231231T235959.999Z-z-9-000002.ndjson",
        "segment-20240101T000000.000Z-b-1-000001.ndjson",
    ]
    assert ArchiveFollower(tmp_path / "absent").segments() == []


def test_deleted_open_segment_is_replaced(tmp_path: Path) -> None:
    async def scenario() -> None:
        writer = ArchiveWriter(tmp_path)
        await writer.open()
        await writer.append(line(1))
        for path in tmp_path.glob("segment-*"):
            path.unlink()
        await writer.append(line(2))
        await writer.close()

    run(scenario())
    assert read_numbers(tmp_path) == [2]
