"""`Tracker`: the sync SDK. The caller's thread encodes and queues; one daemon thread sends.

Threads: `track()` touches only the queue's lock (never held across I/O) and, when a batch is
ready, sets an Event. The sender thread is started on first use (so a gunicorn master that builds
a tracker at import forks no thread), wakes on that Event or every `flush_interval`, cuts batches,
POSTs them with retries, and resends the spool when the collector answers again.

Lifecycle: `shutdown()` is idempotent and bounded; `atexit` calls it with `exit_timeout`, and what
is still undelivered then goes to the spool. The thread is a daemon because Python joins
non-daemon threads *before* running atexit hooks, which would make the bounded exit flush
impossible. After `os.fork()` the child gets a new queue, locks, connection and thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from . import core, steps
from .api import TrackerAPI
from .config import Options
from .errors import ClosedError
from .transport import HttpTransport

log = logging.getLogger("tenure.sdk")


class Tracker(TrackerAPI):
    """Send events to a Tenure (or any Segment-spec) collector. Thread-safe; see docs/sdk.md."""

    def __init__(self, write_key: str, host: str = "http://127.0.0.1:8080", **options: Any) -> None:
        self._options = Options.build(write_key, host, **options)
        self._core = core.Core(self._options)
        self._transport = HttpTransport(self._options)
        self._closed = False
        self._send_lock = threading.Lock()  # sync_mode: callers share one connection
        self._init_threads()
        core.register(self)
        if self._core.spool is not None and self._options.send and not self._options.sync_mode:
            if self._core.spool.pending():
                self._start()  # resend what an earlier run left, without waiting for a track()

    def _init_threads(self) -> None:
        self._wake = threading.Event()
        self._abort = threading.Event()  # the shutdown deadline passed: stop retrying, spool
        self._stopping = False
        self._busy = False
        self._flush_requested = False
        self._progress = threading.Condition()
        self._inflight: list[bytes] | None = None
        self._inflight_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def stats(self) -> core.Stats:
        return self._core.stats

    @property
    def options(self) -> Options:
        return self._options

    # -- caller side --------------------------------------------------------------------------
    def _submit(self, data: bytes) -> None:
        if self._closed:
            raise ClosedError("this tracker was shut down")
        o = self._options
        if not o.send:
            return
        if o.sync_mode:
            with self._send_lock:
                self._deliver([data], inflight=False)
            return
        r = self._core.put(data)
        if r == 2:
            self._wake.set()
        elif r == 0:
            self._full(data)
        if self._thread is None:
            self._start()

    def _full(self, data: bytes) -> None:
        o, c = self._options, self._core
        if o.on_full == "spool":
            if not c.spill(data):
                c.drop(data, "queue full and the spool failed; message dropped")
        elif o.on_full == "block":
            self._wake.set()
            if not (c.batcher.wait_for_space(len(data), o.block_timeout) and c.put(data)):
                c.drop(data, f"queue still full after blocking {o.block_timeout}s; message dropped")
        else:
            c.drop(data, f"queue full ({o.max_queue_size} messages / {o.max_queue_bytes} bytes);"
                         " newest message dropped")

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stopping:
                t = threading.Thread(target=self._run, name="tenure-sdk-sender", daemon=True)
                t.start()
                self._thread = t

    # -- sender thread ------------------------------------------------------------------------
    def _run(self) -> None:
        interval = self._options.flush_interval
        next_tick = time.monotonic() + interval
        self._replay()
        while True:
            self._wake.wait(max(0.0, next_tick - time.monotonic()))
            self._wake.clear()
            try:
                now = time.monotonic()
                force = self._flush_requested or self._stopping or now >= next_tick
                if force:
                    self._flush_requested = False
                    next_tick = now + interval
                self._busy = True
                while not self._abort.is_set():
                    batch = self._core.batcher.take(full_only=not force)
                    if not batch:
                        break
                    self._deliver(batch)
                self._replay()
            except Exception:  # noqa: BLE001 - the sender must outlive any bug
                log.exception("tenure sender loop error")
            finally:
                with self._progress:
                    self._busy = False
                    self._progress.notify_all()
            if self._stopping and (self._abort.is_set() or not len(self._core.batcher)):
                return

    def _deliver(self, batch: list[bytes], inflight: bool = True) -> None:
        """Run the shared delivery plan on this thread, then settle the batch's fate."""
        if inflight:
            with self._inflight_lock:
                self._inflight = batch
        outcome = steps.run(steps.deliver(self._core, batch, self._abort.is_set),
                            self._transport.post, self._abort.wait)
        if inflight and self._claim_inflight() is None:
            return  # shutdown gave up on us and spooled this batch already
        self._core.finish(outcome, batch)

    def _claim_inflight(self) -> list[bytes] | None:
        with self._inflight_lock:
            batch, self._inflight = self._inflight, None
            return batch

    def _replay(self) -> None:
        """Resend the spool while no live batch is waiting."""
        stop = lambda: self._abort.is_set() or self._core.batcher.ready()  # noqa: E731
        steps.run(steps.replay(self._core, stop), self._transport.post, self._abort.wait)

    # -- flush and lifecycle ------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued now; True once the queue is empty and nothing is in flight."""
        if self._thread is None or not self._thread.is_alive():
            return not len(self._core.batcher)
        with self._progress:
            self._flush_requested = True
            self._wake.set()
            return self._progress.wait_for(
                lambda: not self._busy and not len(self._core.batcher) and not self._flush_requested,
                timeout,
            )

    def shutdown(self, timeout: float | None = None) -> None:
        """Flush (bounded by `timeout`), stop the sender, spool whatever is left. Idempotent."""
        if self._closed:
            return
        self._closed = True
        core.unregister(self)
        thread = self._thread
        if thread is not None and thread.is_alive():
            delivered = self.flush(timeout)
            if not delivered:
                self._abort.set()
            self._stopping = True
            self._wake.set()
            thread.join(None if delivered else 0.5)
            if thread.is_alive():  # stuck in a request: take its batch over and spool it
                stuck = self._claim_inflight()
                self._core.give_up(stuck or [], "still in flight at shutdown")
        self._stopping = True
        self._core.give_up(self._core.batcher.drain(), "still queued at shutdown")
        self._transport.close()

    close = shutdown

    def _at_exit(self) -> None:
        self.shutdown(self._options.exit_timeout)

    def _after_fork_in_child(self) -> None:
        self._core.reset_after_fork()
        self._transport = HttpTransport(self._options)
        self._send_lock = threading.Lock()
        self._init_threads()

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
