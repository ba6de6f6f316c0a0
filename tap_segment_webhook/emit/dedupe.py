"""Skip message ids already emitted for a stream in this run, within a bounded window."""

from __future__ import annotations

import collections


class DuplicateFilter:
    """Remember the last `window` message ids of all streams together.

    Segment retries and archive replays deliver the same message more than once. An id older
    than the window is forgotten, and its duplicate is emitted again, which targets that upsert
    on `message_id` absorb.
    """

    def __init__(self, window: int) -> None:
        self.window = window
        self._seen: dict[str, set[str]] = collections.defaultdict(set)
        self._order: collections.deque[tuple[set[str], str]] = collections.deque()

    def is_duplicate(self, stream: str, message_id: str) -> bool:
        """Return True if the id was seen for the stream; otherwise remember it and return False."""
        seen = self._seen[stream]
        if message_id in seen:
            return True
        if self.window <= 0:
            return False
        seen.add(message_id)
        self._order.append((seen, message_id))
        if len(self._order) > self.window:
            old_set, old_id = self._order.popleft()
            old_set.discard(old_id)
        return False
