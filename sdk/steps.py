"""Delivery and spool replay as sans-I/O generators: the one copy both trackers run.

A plan yields what it needs done, `("post", body)` or `("sleep", seconds)`, and is sent back the
result (an `Outcome`, or True if the sleep was cut short by shutdown). The sync tracker drives a
plan with `http.client` and `Event.wait`, the async one with aiohttp and `asyncio.wait_for`: the
retry loop, the spool replay order and the bookkeeping exist once (the h11/httpx-style split).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Generator

from .core import Core
from .retry import Outcome, RetryState, backoff, is_retryable

log = logging.getLogger("tenure.sdk")

POST = "post"
SLEEP = "sleep"
Plan = Generator[tuple[str, Any], Any, Any]


def deliver(core: Core, batch: list[bytes], aborted: Callable[[], bool]) -> Plan:
    """POST `batch` until accepted, refused for good, out of retry budget, or aborted.

    Returns the last Outcome; the caller hands it to `Core.finish` (unless shutdown took the
    batch over meanwhile).
    """
    state = RetryState(core.options.retry)
    while True:
        outcome: Outcome = yield POST, core.body(batch)
        wait = state.next_wait(outcome)
        if wait is None or aborted():
            return outcome
        core.stats.retries += 1
        log.info("batch of %d: %s, retrying in %.2fs", len(batch),
                 outcome.status or repr(outcome.error), wait)
        if (yield SLEEP, wait):
            return outcome


def replay(core: Core, stop: Callable[[], bool]) -> Plan:
    """Resend spooled batches oldest first, one attempt each, while `stop()` stays False.

    On a retryable failure the next replay is pushed back (exponential, at least one flush
    interval) so a down collector is probed, not hammered. A file the collector refuses for good
    (400/401/413) is reported and set aside rather than retried forever.
    """
    spool = core.spool
    if spool is None or time.monotonic() < core.next_replay or stop():
        return
    files = spool.pending()
    if not files:
        return
    with spool.replay_lock() as mine:
        if not mine:  # another process sharing the directory is resending it
            core.next_replay = time.monotonic() + core.options.flush_interval
            return
        for path in files:
            if stop():
                return
            path, messages = spool.read(path)
            if not messages:
                continue
            outcome: Outcome = yield POST, core.body(messages)
            if outcome.ok or not is_retryable(outcome.status):
                core.finish(outcome, messages, spool_on_failure=False)
                if outcome.ok:
                    core.stats.replayed += len(messages)
                    spool.remove(path)
                else:
                    spool.set_aside(path)
                continue
            core.replay_failures += 1
            wait = backoff(core.replay_failures, core.options.retry)
            core.next_replay = time.monotonic() + max(core.options.flush_interval, wait)
            return
    core.replay_failures = 0


def run(plan: Plan, post: Callable[[bytes], Outcome], sleep: Callable[[float], bool]) -> Any:
    """Drive a plan synchronously; returns its result."""
    try:
        kind, arg = next(plan)
        while True:
            kind, arg = plan.send(post(arg) if kind == POST else sleep(arg))
    except StopIteration as done:
        return done.value


async def run_async(plan: Plan, post: Any, sleep: Any) -> Any:
    """Drive a plan on the event loop: `post` and `sleep` are coroutine functions."""
    try:
        kind, arg = next(plan)
        while True:
            result = await (post(arg) if kind == POST else sleep(arg))
            kind, arg = plan.send(result)
    except StopIteration as done:
        return done.value
