"""What both trackers share: the queue policy, the batch body, the verdict on a response, the spool.

The sync `Tracker` (a thread, `http.client`) and the `AsyncTracker` (a task, aiohttp) differ only in
how they wait and how they POST; every decision lives here, as plain methods without I/O except
the spool's small file writes. Also here: the registry of live trackers that the `atexit` and
`os.register_at_fork` hooks walk, so no tracker is kept alive by them (a WeakSet).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util as mp_util
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Protocol

import msgspec

from .batcher import Batcher
from .config import Options
from .encode import decode_all, envelope, now_timestamp
from .errors import DeliveryError, QueueFullError, RejectedError, SpoolError, TenureError
from .retry import Outcome, is_retryable
from .spool import Spool

log = logging.getLogger("tenure.sdk")


class _Response(msgspec.Struct):
    success: bool = True
    accepted: int | None = None
    rejected: list[dict] = []
    error: str | None = None


_decode_response = msgspec.json.Decoder(_Response).decode


@dataclass
class Stats:
    """Counters for the app's metrics; approximate under heavy concurrency (no lock on the hot path)."""

    queued: int = 0
    sent: int = 0
    batches: int = 0
    retries: int = 0
    rejected: int = 0
    dropped: int = 0
    spooled: int = 0
    replayed: int = 0
    failed: int = 0


class Core:
    """The state and rules of one tracker, minus its thread/task and transport."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.stats = Stats()
        self.spool = Spool(options.spool_dir) if options.spool_dir else None
        self.batcher = self._new_batcher()
        #: When the spool may next be resent (monotonic), and how many probes failed in a row.
        self.next_replay = 0.0
        self.replay_failures = 0

    def _new_batcher(self) -> Batcher:
        o = self.options
        return Batcher(
            max_messages=o.max_queue_size,
            max_bytes=o.max_queue_bytes,
            flush_at=o.flush_at,
            batch_bytes=o.batch_payload_bytes,
            batch_messages=o.max_batch_messages,
        )

    def reset_after_fork(self) -> None:
        """The child starts empty: what was queued before the fork is the parent's to send."""
        self.batcher = self._new_batcher()
        self.stats = Stats()

    # -- the caller's side -------------------------------------------------------------------
    def put(self, data: bytes) -> int:
        """Queue one message; 2 = wake the sender, 1 = queued, 0 = full (apply `on_full`)."""
        r = self.batcher.put(data)
        if r:
            self.stats.queued += 1
        return r

    def spill(self, data: bytes) -> bool:
        """Queue full under the "spool" policy: move the queue (oldest first) to disk, keep `data`.

        Runs on the caller's thread, but only at the cap, which means the collector has been
        unreachable long enough to fill the queue; the lock is not held during the writes.
        """
        waiting = self.batcher.drain()
        if not self.spool_batches(waiting):
            return False
        return self.put(data) != 0 or self.spool_batches([data])

    def drop(self, data: bytes, why: str) -> None:
        self.stats.dropped += 1
        self.report(QueueFullError(why), [data])

    # -- the sender's side -------------------------------------------------------------------
    def body(self, messages: list[bytes]) -> bytes:
        """The batch as sent now: `sentAt` is stamped per attempt, for the collector's skew fix."""
        return envelope(messages, now_timestamp())

    def finish(self, outcome: Outcome, messages: list[bytes], *, spool_on_failure: bool = True) -> bool:
        """Account for a batch's final outcome; True if the collector took it.

        Not delivered but worth retrying later (network, 5xx, 429 past the budget, shutdown): to the
        spool when there is one. A final refusal (400/401/413): to `on_error`, never retried.
        """
        if outcome.ok:
            self.stats.batches += 1
            self._accepted(outcome.body, messages)
            self.next_replay = 0.0  # the collector answers: resend the spool now
            self.replay_failures = 0
            return True
        if is_retryable(outcome.status) and spool_on_failure and self.spool is not None:
            if self.spool_batches([messages]):
                return False
        self.stats.failed += len(messages)
        reason = _error_text(outcome)
        self.report(DeliveryError(reason, status=outcome.status, messages=decode_all(messages)),
                    None)
        return False

    def _accepted(self, body: bytes, messages: list[bytes]) -> None:
        try:
            response = _decode_response(body) if body else _Response()
        except (msgspec.DecodeError, msgspec.ValidationError):
            response = _Response()  # a Segment-spec collector may answer anything on 200
        rejected = [r for r in response.rejected if isinstance(r.get("index"), int)]
        self.stats.sent += len(messages) - len(rejected)
        if rejected:
            self.stats.rejected += len(rejected)
            bad = [messages[r["index"]] for r in rejected if 0 <= r["index"] < len(messages)]
            self.report(RejectedError(rejected, decode_all(bad)), None)

    def spool_batches(self, messages: list[bytes] | list[list[bytes]]) -> bool:
        """Write messages (or ready batches) to the spool in batch-sized files; False if it failed."""
        if not messages:
            return True
        if self.spool is None:
            return False
        batches = messages if isinstance(messages[0], list) else list(self._chunks(messages))
        try:
            for batch in batches:
                self.spool.write(batch)
                self.stats.spooled += len(batch)
        except SpoolError as exc:
            self.report(exc, None)
            return False
        return True

    def _chunks(self, messages: list[bytes]):
        size, start, limit = 0, 0, self.options.batch_payload_bytes
        per = min(self.options.flush_at, self.options.max_batch_messages)
        for i, m in enumerate(messages):
            if i > start and (i - start >= per or size + len(m) + 1 > limit):
                yield messages[start:i]
                start, size = i, 0
            size += len(m) + 1
        if start < len(messages):
            yield messages[start:]

    def give_up(self, messages: list[bytes], why: str) -> None:
        """Messages that will not be sent by this process: spool them, or report them lost."""
        if not messages:
            return
        if self.spool_batches(messages):
            return
        self.stats.failed += len(messages)
        self.report(DeliveryError(why, messages=decode_all(messages)), None)

    def report(self, exc: TenureError, messages: list[bytes] | None) -> None:
        """Log the error and hand it to `on_error`; an error in the handler is logged, not raised."""
        decoded = exc.messages if isinstance(exc, DeliveryError) else decode_all(messages or [])
        log.warning("%s: %s (%d message(s))", type(exc).__name__, exc, len(decoded))
        handler = self.options.on_error
        if handler is not None:
            try:
                handler(exc, decoded)
            except Exception:  # noqa: BLE001 - the app's handler must not kill the sender
                log.exception("on_error handler raised")


def _error_text(outcome: Outcome) -> str:
    if outcome.status is None:
        return f"collector unreachable: {outcome.error!r}"
    try:
        err = _decode_response(outcome.body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        err = None
    return f"collector refused the batch: {err or outcome.body[:200]!r}"


class Lifecycle(Protocol):
    def _after_fork_in_child(self) -> None: ...
    def _at_exit(self) -> None: ...


_live: "weakref.WeakSet[Lifecycle]" = weakref.WeakSet()
_hooks_lock = threading.Lock()
_hooks_installed = False


def register(tracker: Lifecycle) -> None:
    """Have `tracker` flushed at interpreter exit and reset in a forked child."""
    global _hooks_installed
    with _hooks_lock:
        if not _hooks_installed:
            atexit.register(_exit_all)
            os.register_at_fork(after_in_child=_fork_all)
            # multiprocessing children end with os._exit(), skipping atexit; they do run the
            # Finalize callbacks registered after the fork, so flush from one of those.
            mp_util.register_after_fork(_MP_TOKEN, _in_multiprocessing_child)
            _hooks_installed = True
        _live.add(tracker)


def unregister(tracker: Lifecycle) -> None:
    _live.discard(tracker)


def _exit_all() -> None:
    for tracker in list(_live):
        try:
            tracker._at_exit()
        except Exception:  # noqa: BLE001 - one tracker's failure must not stop the others
            log.exception("tenure tracker failed to flush at exit")


class _Token:
    """A weak-referenceable key for `multiprocessing.util.register_after_fork`."""


_MP_TOKEN = _Token()


def _in_multiprocessing_child(_token: object) -> None:
    mp_util.Finalize(None, _exit_all, exitpriority=100)


def _fork_all() -> None:
    for tracker in list(_live):
        tracker._after_fork_in_child()

