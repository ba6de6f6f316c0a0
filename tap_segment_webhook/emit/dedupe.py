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
        # Two parallel queues, oldest first, cost less memory than one queue of pairs.
        self._order_ids: collections.deque[str] = collections.deque()
        self._order_sets: collections.deque[set[str]] = collections.deque()

    def is_duplicate(self, stream: str, message_id: str) -> bool:
        """Return True if the id was seen for the stream; otherwise remember it and return False."""
        seen = self._seen[stream]
        if message_id in seen:
            return True
        if self.window <= 0:
            return False
        seen.add(message_id)
        self._order_ids.append(message_id)
        self._order_sets.append(seen)
        if len(self._order_ids) > self.window:
            self._order_sets.popleft().discard(self._order_ids.popleft())
        return False
