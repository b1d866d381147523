"""`AsyncTracker`: the same calls as `Tracker` for asyncio apps, sending from one task on the loop.

`track()` and the helpers stay plain (non-async) methods: they only encode and queue, so there is
nothing to await, and a sync helper deep in an async app can call them too. Flushing and shutdown
are coroutines. Batching, retries and the spool are the same plans as the sync tracker's
(`steps`), driven here with aiohttp and `asyncio.wait_for`.

What differs because a loop must never block: `on_full="block"` and `sync_mode` are refused;
spool writes after a failed delivery run in a worker thread. `atexit` cannot run a coroutine, so
an `AsyncTracker` that was never shut down spools what it still holds at exit (or reports it lost
without a spool): `await tracker.shutdown()` or `async with` is the way to deliver it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from . import core, steps
from .api import TrackerAPI
from .async_transport import AiohttpTransport
from .config import Options
from .errors import ClosedError

log = logging.getLogger("tenure.sdk")


class AsyncTracker(TrackerAPI):
    """Send events from an asyncio app. Use it from one event loop; see docs/sdk.md."""

    def __init__(self, write_key: str, host: str = "http://127.0.0.1:8080", **options: Any) -> None:
        self._options = Options.build(write_key, host, **options)
        if self._options.on_full == "block":
            raise ValueError("on_full='block' would block the event loop; use 'spool' or 'drop'")
        if self._options.sync_mode:
            raise ValueError("sync_mode is for the sync Tracker; await tracker.flush() instead")
        self._core = core.Core(self._options)
        self._transport = AiohttpTransport(self._options)
        self._closed = False
        self._init_task()
        core.register(self)

    def _init_task(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._abort: asyncio.Event | None = None
        self._progress: asyncio.Condition | None = None
        self._busy = False
        self._flush_requested = False
        self._stopping = False
        self._inflight: list[bytes] | None = None

    @property
    def stats(self) -> core.Stats:
        return self._core.stats

    # -- caller side --------------------------------------------------------------------------
    def _submit(self, data: bytes) -> None:
        if self._closed:
            raise ClosedError("this tracker was shut down")
        if not self._options.send:
            return
        c = self._core
        r = c.put(data)
        if r == 0:
            if self._options.on_full == "spool":
                if not c.spill(data):
                    c.drop(data, "queue full and the spool failed; message dropped")
            else:
                c.drop(data, f"queue full ({self._options.max_queue_size} messages); newest dropped")
        try:
            self._ensure_task()
        except RuntimeError:  # no running loop in this thread
            if self._loop is not None and r == 2:
                self._loop.call_soon_threadsafe(self._wake.set)  # type: ignore[union-attr]
            return
        if r == 2:
            self._wake.set()  # type: ignore[union-attr]

    def _ensure_task(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None and not self._stopping:
            self._loop = loop
            self._wake, self._abort = asyncio.Event(), asyncio.Event()
            self._progress = asyncio.Condition()
            self._task = loop.create_task(self._run(), name="tenure-sdk-sender")

    # -- sender task --------------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self._options.flush_interval
        next_tick = loop.time() + interval
        wake, abort, progress = self._wake, self._abort, self._progress
        assert wake is not None and abort is not None and progress is not None
        await self._replay()
        while True:
            try:
                await asyncio.wait_for(wake.wait(), max(0.0, next_tick - loop.time()))
            except asyncio.TimeoutError:
                pass
            wake.clear()
            try:
                now = loop.time()
                force = self._flush_requested or self._stopping or now >= next_tick
                if force:
                    self._flush_requested = False
                    next_tick = now + interval
                self._busy = True
                while not abort.is_set():
                    batch = self._core.batcher.take(full_only=not force)
                    if not batch:
                        break
                    await self._deliver(batch)
                await self._replay()
            except Exception:  # noqa: BLE001 - the sender must outlive any bug
                log.exception("tenure async sender error")
            finally:
                async with progress:
                    self._busy = False
                    progress.notify_all()
            if self._stopping and (abort.is_set() or not len(self._core.batcher)):
                return

    async def _sleep(self, seconds: float) -> bool:
        """Wait between retries; True if shutdown cut the wait short."""
        try:
            await asyncio.wait_for(self._abort.wait(), seconds)  # type: ignore[union-attr]
            return True
        except asyncio.TimeoutError:
            return False

    async def _deliver(self, batch: list[bytes]) -> None:
        self._inflight = batch
        plan = steps.deliver(self._core, batch, self._abort.is_set)  # type: ignore[union-attr]
        outcome = await steps.run_async(plan, self._transport.post, self._sleep)
        if self._inflight is None:
            return  # shutdown took this batch over
        self._inflight = None
        if outcome.ok:
            self._core.finish(outcome, batch)
        else:  # may write the spool: keep disk I/O off the loop
            await asyncio.to_thread(self._core.finish, outcome, batch)

    async def _replay(self) -> None:
        stop = lambda: self._abort.is_set() or self._core.batcher.ready()  # noqa: E731
        await steps.run_async(steps.replay(self._core, stop), self._transport.post, self._sleep)

    # -- flush and lifecycle ------------------------------------------------------------------
    async def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued now; True once the queue is empty and nothing is in flight."""
        if len(self._core.batcher):
            try:
                self._ensure_task()
            except RuntimeError:  # pragma: no cover - flush always runs on a loop
                pass
        task, progress = self._task, self._progress
        if task is None or task.done() or progress is None:
            return not len(self._core.batcher)
        async with progress:
            self._flush_requested = True
            self._wake.set()  # type: ignore[union-attr]
            pred = lambda: (  # noqa: E731
                not self._busy and not len(self._core.batcher) and not self._flush_requested)
            try:
                return await asyncio.wait_for(progress.wait_for(pred), timeout)
            except asyncio.TimeoutError:
                return False

    async def shutdown(self, timeout: float | None = None) -> None:
        """Flush (bounded by `timeout`), stop the task, spool whatever is left. Idempotent."""
        if self._closed:
            return
        self._closed = True
        core.unregister(self)
        task = self._task
        if task is not None and not task.done():
            delivered = await self.flush(timeout)
            if not delivered:
                self._abort.set()  # type: ignore[union-attr]
            self._stopping = True
            self._wake.set()  # type: ignore[union-attr]
            try:
                await asyncio.wait_for(asyncio.shield(task), None if delivered else 0.5)
            except asyncio.TimeoutError:
                stuck, self._inflight = self._inflight, None
                task.cancel()
                await asyncio.to_thread(self._core.give_up, stuck or [], "in flight at shutdown")
        self._stopping = True
        await asyncio.to_thread(self._core.give_up, self._core.batcher.drain(),
                                "still queued at shutdown")
        await self._transport.close()

    close = shutdown

    def _at_exit(self) -> None:
        if self._closed:
            return
        self._closed = True
        left = (self._inflight or []) + self._core.batcher.drain()
        self._core.give_up(left, "AsyncTracker was not shut down before interpreter exit")

    def _after_fork_in_child(self) -> None:
        self._core.reset_after_fork()
        self._transport.forget()
        self._init_task()

    async def __aenter__(self) -> "AsyncTracker":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()
