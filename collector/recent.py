"""The message ids accepted recently, so a resend is acknowledged without being stored twice.

ReplacingMergeTree collapses two copies of a message only when they share the sort key, and a
resend can carry another (skew-corrected) timestamp: our SDK and Segment's set a new `sentAt` on
every attempt, and a message without `timestamp` takes the receive time. Dropping copies seen
within this window keeps them out of `events` and out of every materialized view.

Bounded memory: two generations of sets; when the newer fills up, the older is dropped, so an id
is remembered for at least `capacity / 2` later ids. Seeded at start-up from the log being
replayed and the store's last hours, so a restart does not open a gap. Used only on the event
loop: no locks.
"""

from __future__ import annotations

from collections.abc import Iterable

Key = tuple[str, str]  # (project, message_id)


class RecentIds:
    def __init__(self, capacity: int) -> None:
        self._generation = max(1, capacity // 2)
        self._new: set[Key] = set()
        self._old: set[Key] = set()

    def __contains__(self, key: Key) -> bool:
        return key in self._new or key in self._old

    def __len__(self) -> int:
        return len(self._new | self._old)

    def add_all(self, keys: Iterable[Key]) -> None:
        for key in keys:
            self._new.add(key)
            if len(self._new) >= self._generation:
                self._old, self._new = self._new, set()

    def forget(self, keys: Iterable[Key]) -> None:
        for key in keys:
            self._new.discard(key)
            self._old.discard(key)

    def fresh_rows(self, rows: list) -> list:
        """`events` rows whose (project, message_id) was not accepted before, nor earlier in `rows`."""
        seen: set[Key] = set()
        fresh = []
        for row in rows:
            key = (row[0], row[1])
            if key in seen or key in self._new or key in self._old:
                continue
            seen.add(key)
            fresh.append(row)
        return fresh
