"""An acknowledged event survives kill -9, a store outage and shutdown; replay never duplicates."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor


def _burst(collector, batches: int, per_batch: int, workers: int = 8) -> list[str]:
    """Send batches concurrently; return the message ids the collector acknowledged with 200."""
    tag = uuid.uuid4().hex[:8]

    def send(b: int) -> list[str]:
        ids = [f"{tag}-{b}-{i}" for i in range(per_batch)]
        batch = [{"type": "track", "event": "burst", "userId": f"u{i % 7}", "messageId": m} for i, m in enumerate(ids)]
        try:
            resp = collector.post("/v1/batch", {"batch": batch})
        except OSError:
            return []
        return ids if resp.status == 200 and resp.json()["accepted"] == per_batch else []

    with ThreadPoolExecutor(workers) as pool:
        return [m for ids in pool.map(send, range(batches)) for m in ids]


def _counts(collector, ids: list[str]) -> tuple[int, int]:
    """(rows, distinct ids) among `ids`, without FINAL: physical duplicates would show."""
    prefix = ids[0].split("-", 1)[0]
    rows = collector.query(f"SELECT count(), uniqExact(message_id) FROM tenure.events WHERE startsWith(message_id, '{prefix}-')")
    return rows[0][0], rows[0][1]


def _until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _accepted(collector) -> float:
    for line in collector.get("/metrics").body.decode().splitlines():
        if line.startswith("tenure_messages_accepted_total{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _wait_counts(collector, ids, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        got = _counts(collector, ids)
        if got[1] >= len(set(ids)) or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_kill_9_after_acknowledged_burst_loses_nothing(collector_factory, tmp_path):
    data = tmp_path / "crash"
    first = collector_factory(data).start()
    first.faults(store_down=True)  # everything acknowledged now lives only in the write-ahead log
    acked = _burst(first, batches=40, per_batch=50)
    assert len(acked) == 2000
    first.kill()
    second = collector_factory(data, port=first.port).start()
    rows, distinct = _wait_counts(second, acked)
    assert (rows, distinct) == (2000, 2000)


def test_kill_9_mid_stream_keeps_every_acknowledged_event_once(collector_factory, tmp_path):
    data = tmp_path / "crash-mid"
    first = collector_factory(data).start()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(_burst, first, 120, 100, 4)
        assert _until(lambda: _accepted(first) >= 2000)
        first.kill()  # while requests are in flight and the writer is inserting
        acked = pending.result()
    assert acked, "some batches should have been acknowledged before the kill"
    second = collector_factory(data).start()
    _wait_counts(second, acked)
    prefix = acked[0].split("-", 1)[0]
    present = {r[0] for r in second.query(f"SELECT DISTINCT message_id FROM tenure.events WHERE startsWith(message_id, '{prefix}-')")}
    assert set(acked) <= present
    rows, distinct = _counts(second, acked)
    assert rows == distinct  # nothing stored twice, even what was inserted and then replayed


def test_replay_of_a_stored_segment_adds_nothing(collector_factory, tmp_path):
    data = tmp_path / "replay"
    first = collector_factory(data).start()
    first.faults(crash_after_insert=True)  # insert, then die before deleting the segment file
    acked = _burst(first, batches=5, per_batch=20, workers=1)
    first.proc.wait(30)
    assert list((data / "wal").glob("*.wal")), "the stored segment must still be on disk"
    second = collector_factory(data).start()
    assert _until(lambda: not list((data / "wal").glob("*.wal")))  # replayed and deleted
    assert _counts(second, acked) == (len(acked), len(acked))


def test_store_outage_then_recovery(collector_factory, tmp_path):
    proc = collector_factory(tmp_path / "outage").start()
    proc.faults(store_down=True)
    acked = _burst(proc, batches=4, per_batch=25)
    assert _until(lambda: proc.get("/readyz").json()["writer_error"] == "store is down (fault injected)")
    assert _counts(proc, acked) == (0, 0)
    proc.faults(store_down=False)
    assert _wait_counts(proc, acked) == (100, 100)


def test_backlog_bound_answers_503_with_retry_after(collector_factory, tmp_path):
    proc = collector_factory(tmp_path / "backlog", extra_args=("--max-backlog-rows", "30")).start()
    proc.faults(store_down=True)
    batch = {"batch": [{"type": "track", "event": "x", "userId": "u"}] * 20}
    assert proc.post("/v1/batch", batch).status == 200
    assert proc.post("/v1/batch", batch).status == 200  # 40 rows now waiting, past the bound
    resp = proc.post("/v1/batch", batch)
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "1"
    assert resp.json() == {"success": False, "error": "backlog full: the store is behind; retry later"}
    proc.faults(store_down=False)
    deadline = time.monotonic() + 20
    while proc.post("/v1/batch", batch).status != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_sigterm_drains_before_exit(collector_factory, tmp_path):
    data = tmp_path / "drain"
    proc = collector_factory(data).start()
    acked = _burst(proc, batches=10, per_batch=100, workers=2)
    assert proc.stop() == 0
    assert not list((data / "wal").glob("*.wal")), "a clean stop leaves nothing to replay"
    again = collector_factory(data).start()
    assert _counts(again, acked) == (1000, 1000)


def test_fault_switches_answer_429_and_503(collector):
    collector.faults(reject_status=429, reject_count=1, retry_after=2)
    resp = collector.post("/v1/batch", {"batch": [{"type": "track", "event": "x", "userId": "u"}]})
    assert resp.status == 429 and resp.headers["Retry-After"] == "2"
    collector.faults(reject_status=503, reject_count=1, retry_after=1)
    resp = collector.post("/v1/batch", {"batch": [{"type": "track", "event": "x", "userId": "u"}]})
    assert resp.status == 503 and resp.headers["Retry-After"] == "1"
    assert collector.post("/v1/batch", {"batch": [{"type": "track", "event": "x", "userId": "u"}]}).status == 200


def test_a_row_the_store_refuses_goes_to_quarantine_and_the_rest_is_stored(collector_factory, tmp_path):
    proc = collector_factory(tmp_path / "poison").start()
    tag = uuid.uuid4().hex[:8]
    poison = f"{tag}-poison"
    proc.faults(refuse_message_id=poison)
    ids = [f"{tag}-{i}" for i in range(40)]
    ids[17] = poison
    batch = [{"type": "track", "event": "p", "userId": "u", "messageId": m} for m in ids]
    assert proc.post("/v1/batch", {"batch": batch}).json()["accepted"] == 40
    later = f"{tag}-later"
    assert proc.post("/v1/batch", {"batch": [{"type": "track", "event": "p", "userId": "u", "messageId": later}]}).status == 200
    stored = proc.wait_for(f"SELECT count() FROM tenure.events WHERE startsWith(message_id, '{tag}-')", [[40]])
    assert stored == [[40]]  # 39 of the batch and the later one
    assert proc.query(f"SELECT count() FROM tenure.events WHERE message_id = '{poison}'") == [[0]]
    quarantined = proc.wait_for(f"SELECT field, error FROM tenure.quarantine WHERE message_id = '{poison}'",
                                [["$", "refused by the store: insert into tenure.events failed: Code: 117. row refused (fault injected)"]])
    assert len(quarantined) == 1
    assert proc.get("/readyz").json()["writer_error"] is None


def test_duplicate_json_paths_and_huge_revenue_never_stall_the_writer(collector):
    tag = uuid.uuid4().hex[:8]
    batch = [
        {"type": "track", "event": "x", "userId": "u", "messageId": f"{tag}-dotted", "properties": {"a.b": 1, "a": {"b": 2}}},
        {"type": "track", "event": "purchase", "userId": "u", "messageId": f"{tag}-huge",
         "properties": {"order_id": "o", "revenue": 1e30, "currency": "USD"}},
        {"type": "track", "event": "x", "userId": "u", "messageId": f"{tag}-after"},
    ]
    body = collector.post("/v1/batch", {"batch": batch}).json()
    assert body["accepted"] == 2
    assert body["rejected"][0]["error"] == "`revenue` must be a non-negative decimal below 10^14 (required by the `purchase` event)"
    rows = collector.wait_for(f"SELECT message_id FROM tenure.events WHERE startsWith(message_id, '{tag}-') ORDER BY message_id",
                              [[f"{tag}-after"], [f"{tag}-dotted"]])
    assert rows == [[f"{tag}-after"], [f"{tag}-dotted"]]
