"""The bounded queue of encoded messages, and the rule that cuts it into batches.

Why a deque under a plain lock rather than `queue.Queue`: the caller's side is one append and two
additions under a lock held for well under a microsecond (never across I/O), and the sender takes
a whole batch in one critical section instead of one `get()` per message. The cap is counted in
messages and in bytes, so a burst of large events cannot grow memory past `max_queue_bytes`.

The queue does not decide what happens when it is full, nor does it wake anyone itself: `put`
reports `False`/"ready" and the tracker applies its policy (spool, drop, block) and wakes its sender.
"""

from __future__ import annotations

import threading
from collections import deque


class Batcher:
    """Encoded messages waiting to be sent, oldest first."""

    __slots__ = ("_queue", "_bytes", "_lock", "_space", "max_messages", "max_bytes",
                 "flush_at", "batch_bytes", "batch_messages")

    def __init__(
        self,
        *,
        max_messages: int,
        max_bytes: int,
        flush_at: int,
        batch_bytes: int,
        batch_messages: int,
    ) -> None:
        self._queue: deque[bytes] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)  # only waited on by the "block" policy
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.flush_at = flush_at
        self.batch_bytes = batch_bytes
        self.batch_messages = min(batch_messages, max(flush_at, 1))

    def put(self, data: bytes) -> int:
        """Append `data`; returns 0 if the queue is full, 2 if a batch is now ready, else 1."""
        n = len(data)
        with self._lock:
            if len(self._queue) >= self.max_messages or self._bytes + n > self.max_bytes:
                return 0
            self._queue.append(data)
            self._bytes += n
            return 2 if len(self._queue) >= self.flush_at or self._bytes >= self.batch_bytes else 1

    def wait_for_space(self, data_len: int, timeout: float) -> bool:
        """Block up to `timeout` until a message of `data_len` bytes would fit (the "block" policy)."""
        with self._space:
            return self._space.wait_for(
                lambda: len(self._queue) < self.max_messages
                and self._bytes + data_len <= self.max_bytes,
                timeout,
            )

    def ready(self) -> bool:
        """A full batch (by count or by size) is waiting."""
        return len(self._queue) >= self.flush_at or self._bytes >= self.batch_bytes

    def take(self, full_only: bool = False) -> list[bytes]:
        """Remove and return the next batch: up to `flush_at` messages and `batch_bytes` bytes.

        With `full_only`, return nothing unless a full batch is waiting, so a partial batch keeps
        collecting until the interval passes.
        """
        with self._lock:
            if full_only and not self.ready():
                return []
            out: list[bytes] = []
            size = 0
            queue = self._queue
            while queue and len(out) < self.batch_messages:
                n = len(queue[0])
                if out and size + n + 1 > self.batch_bytes:
                    break
                out.append(queue.popleft())
                size += n + 1
            self._bytes -= size - len(out)
            if out:
                self._space.notify_all()
            return out

    def drain(self) -> list[bytes]:
        """Remove and return everything queued (shutdown, fork, spill)."""
        with self._lock:
            out = list(self._queue)
            self._queue.clear()
            self._bytes = 0
            self._space.notify_all()
            return out

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def nbytes(self) -> int:
        return self._bytes
