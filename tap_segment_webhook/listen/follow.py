"""Find the archive's segment files in the order they were written.

The driver reads each segment from its stored offset with the same decoder replay uses,
consuming only lines that end in a newline: the last line of a segment may still be growing.
"""

from __future__ import annotations

import os

from tap_segment_webhook.listen.archive import SEGMENT_NAME_PATTERN


class ArchiveFollower:
    """Lists the segment files of one archive folder."""

    def __init__(self, archive_dir: str | os.PathLike[str]) -> None:
        self.archive_dir = os.path.abspath(os.fspath(archive_dir))

    def segments(self) -> list[str]:
        """Return the paths of all segment files, oldest first; an absent folder has none.

        Segment names start with their UTC start time, so name order is write order, also
        across processes that share the folder. Other files in the folder are ignored.
        """
        try:
            names = os.listdir(self.archive_dir)
        except FileNotFoundError:
            return []
        matching = sorted(name for name in names if SEGMENT_NAME_PATTERN.match(name))
        return [os.path.join(self.archive_dir, name) for name in matching]
