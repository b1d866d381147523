"""AsyncTracker: the same calls and guarantees on an event loop, against the real collector."""

from __future__ import annotations

import asyncio
import time

import pytest

from tenure.sdk import ClosedError, ValidationError
from tenure.sdk.async_client import AsyncTracker

from .conftest import landed, stored_rows


async def test_async_basics_land(collector, uid):
    async with AsyncTracker(collector.write_key, collector.url) as t:
        t.track("Async", user_id=uid, properties={"n": 1})
        t.identify(uid, {"plan": "free"})
        t.purchase(uid, order_id="o-a", revenue=5, currency="usd")
        with pytest.raises(ValidationError) as info:
            t.purchase(uid, order_id="o-b", revenue=-5, currency="USD")
        assert info.value.path == "$.properties.revenue"
        assert await t.flush(10)
        assert (t.stats.sent, t.stats.batches) == (3, 1)
    with pytest.raises(ClosedError):
        t.track("late", user_id=uid)
    assert await asyncio.to_thread(landed, collector, uid, 3) == 3
    rows = await asyncio.to_thread(collector.query, f"SELECT currency, revenue FROM tenure.events FINAL "
                                   f"WHERE startsWith(user_id, '{uid}') AND event = 'purchase'")
    assert rows == [["USD", 5]] or rows == [["USD", 5.0]]


async def test_async_loop_is_never_blocked_and_batches_by_count(collector, uid):
    async with AsyncTracker(collector.write_key, collector.url, flush_at=50, flush_interval=60) as t:
        start = time.perf_counter()
        for i in range(200):
            t.track("Burst", user_id=uid, properties={"i": i})
        assert time.perf_counter() - start < 0.5  # 200 calls, no I/O on the caller
        for _ in range(100):
            if t.stats.batches == 4:
                break
            await asyncio.sleep(0.05)
        assert (t.stats.batches, t.stats.sent) == (4, 200)
    assert await asyncio.to_thread(landed, collector, uid, 200) == 200


async def test_async_retries_the_collectors_503(collector, uid):
    collector.faults(reject_status=503, reject_count=2, retry_after=0)
    try:
        async with AsyncTracker(collector.write_key, collector.url) as t:
            t.track("Retried", user_id=uid)
            assert await t.flush(10)
            assert (t.stats.retries, t.stats.sent) == (2, 1)
    finally:
        collector.faults(reject_status=0, reject_count=0, retry_after=1)
    assert await asyncio.to_thread(landed, collector, uid, 1) == 1
    assert await asyncio.to_thread(stored_rows, collector, uid) == 1


async def test_async_shutdown_with_collector_down_spools(uid, tmp_path):
    spool = tmp_path / "spool"
    t = AsyncTracker("k", "http://127.0.0.1:9", spool_dir=str(spool), max_retry_time=60)
    for _ in range(4):
        t.track("Down", user_id=uid)
    start = time.monotonic()
    await t.shutdown(timeout=0.3)
    assert time.monotonic() - start < 2
    assert t.stats.spooled == 4


def test_async_refuses_blocking_options():
    with pytest.raises(ValueError, match="would block the event loop"):
        AsyncTracker("k", on_full="block")
