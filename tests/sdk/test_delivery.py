"""The sync Tracker against the real collector on 127.0.0.1 (chDB store): columns, batching,
retries on the collector's real 429/503 answers, refusals and rejections reaching `on_error`."""

from __future__ import annotations

import json
import logging
import time

import pytest

import tenure.sdk as sdk
from tenure.sdk import DeliveryError, NotInitializedError, RejectedError, Tracker

from .conftest import landed, stored_rows, wait_until


@pytest.fixture
def faults(collector):
    """The collector's test fault switch, always switched off again."""
    yield collector.faults
    collector.faults(reject_status=0, reject_count=0, retry_after=1, store_down=False)


def rows_by_type(collector, uid):
    cols = ("type, event, sent_event, name, user_id, anonymous_id, previous_id, group_id, "
            "toString(properties), toString(traits), toString(context), revenue, currency, order_id, "
            "message_id, original_timestamp, sent_at")
    rows = collector.query(f"SELECT {cols} FROM tenure.events FINAL WHERE project = 'test' AND "
                           f"(startsWith(user_id, '{uid}') OR startsWith(anonymous_id, '{uid}')) "
                           "ORDER BY type, event")
    names = [c.strip() for c in cols.split(",")]
    return [dict(zip(names, r)) for r in rows]


def test_every_event_type_lands_with_its_columns(collector, uid):
    u, anon = f"{uid}-u", f"{uid}-anon"
    with Tracker(collector.write_key, collector.url) as t:
        ids = {
            "track": t.track("Report Exported", user_id=u, properties={"rows": 3},
                             context={"ip": "10.0.0.1"}, timestamp="2026-01-02T03:04:05.678Z"),
            "identify": t.identify(u, {"plan": "pro"}, anonymous_id=anon),
            "alias": t.alias(anon, u),
            "page": t.page("Pricing", {"url": "/pricing"}, anonymous_id=anon),
            "screen": t.screen("Home", user_id=u),
            "group": t.group("acme", {"seats": 5}, user_id=u),
            "register": t.register(u, method="google"),
            "login": t.login(u, method="password"),
            "click": t.click(u, element="buy", page="/pricing"),
            "purchase": t.purchase(u, order_id="o-1", revenue="19.90", currency="eur"),
        }
        assert t.flush(10)
        assert t.stats.sent == 10 and t.stats.batches == 1
    assert landed(collector, uid, 9) == 9  # the page is anonymous-only
    rows = rows_by_type(collector, uid)
    by_id = {r["message_id"]: r for r in rows}
    assert set(by_id) == set(ids.values())
    track = by_id[ids["track"]]
    assert (track["type"], track["event"], track["sent_event"], track["user_id"]) == ("track", "Report Exported", "Report Exported", u)
    assert json.loads(track["toString(properties)"]) == {"rows": 3}
    ctx = json.loads(track["toString(context)"])
    assert ctx["ip"] == "10.0.0.1" and ctx["library"]["name"] == "tenure-sdk"
    assert track["original_timestamp"].startswith("2026-01-02T03:04:05.678")
    assert track["sent_at"] is not None
    assert json.loads(by_id[ids["identify"]]["toString(traits)"]) == {"plan": "pro"}
    assert by_id[ids["identify"]]["anonymous_id"] == anon
    assert (by_id[ids["alias"]]["previous_id"], by_id[ids["alias"]]["user_id"]) == (anon, u)
    assert (by_id[ids["page"]]["name"], by_id[ids["page"]]["anonymous_id"]) == ("Pricing", anon)
    assert by_id[ids["screen"]]["name"] == "Home"
    assert by_id[ids["group"]]["group_id"] == "acme"
    assert [by_id[ids[k]]["event"] for k in ("register", "login", "click", "purchase")] == [
        "register", "login", "click", "purchase"]
    purchase = by_id[ids["purchase"]]
    assert (float(purchase["revenue"]), purchase["currency"], purchase["order_id"]) == (19.9, "EUR", "o-1")


def test_batching_by_count(collector, uid):
    with Tracker(collector.write_key, collector.url, flush_at=10, flush_interval=60) as t:
        for i in range(35):
            t.track("Counted", user_id=uid, properties={"i": i})
        assert landed(collector, uid, 30) == 30  # three full batches, no flush call
        assert t.stats.batches == 3
        time.sleep(0.3)
        assert landed(collector, uid, 30, timeout=0) == 30  # the last 5 wait for the interval
        assert t.flush(10)
        assert t.stats.batches == 4
    assert landed(collector, uid, 35) == 35


def test_batching_by_size(collector, uid):
    blob = "x" * 20_000
    with Tracker(collector.write_key, collector.url, flush_at=100, flush_interval=60) as t:
        for i in range(30):
            t.track("Big", user_id=uid, properties={"i": i, "blob": blob})
        # ~25 messages of 20 KB come near the 500 KB batch limit: sent without waiting
        assert wait_until(lambda: t.stats.batches == 1, timeout=10)
        assert 20 <= t.stats.sent < 26 and t.stats.sent * 20_000 < 500 * 1024
        assert t.flush(10)
        assert t.stats.batches == 2
    assert landed(collector, uid, 30) == 30


def test_batching_by_interval(collector, uid):
    with Tracker(collector.write_key, collector.url, flush_at=100, flush_interval=0.3) as t:
        start = time.monotonic()
        for i in range(5):
            t.track("Ticked", user_id=uid)
        assert wait_until(lambda: t.stats.sent == 5, timeout=5)
        assert 0.2 < time.monotonic() - start < 3
        assert t.stats.batches == 1
    assert landed(collector, uid, 5) == 5


def test_429_honours_retry_after(collector, uid, faults):
    faults(reject_status=429, reject_count=1, retry_after=1)
    with Tracker(collector.write_key, collector.url, initial_backoff=0.01) as t:
        t.track("Limited", user_id=uid)
        start = time.monotonic()
        assert t.flush(10)
        assert time.monotonic() - start >= 0.95  # waited the collector's Retry-After, not 10 ms
        assert (t.stats.retries, t.stats.sent) == (1, 1)
    assert landed(collector, uid, 1) == 1


def test_503_is_retried_with_backoff(collector, uid, faults):
    faults(reject_status=503, reject_count=3, retry_after=0)
    with Tracker(collector.write_key, collector.url) as t:
        for i in range(3):
            t.track("Backlogged", user_id=uid)
        assert t.flush(10)
        assert (t.stats.retries, t.stats.sent, t.stats.batches) == (3, 3, 1)
    assert landed(collector, uid, 3) == 3
    assert stored_rows(collector, uid) == 3


def test_past_the_retry_budget_batches_are_spooled_and_resent(collector, uid, faults, tmp_path):
    faults(reject_status=503, reject_count=10_000, retry_after=0)
    spool = tmp_path / "spool"
    t = Tracker(collector.write_key, collector.url, spool_dir=str(spool), max_retry_time=0.3,
                flush_interval=0.1)
    try:
        ids = [t.track("Outage", user_id=uid, properties={"i": i}) for i in range(10)]
        assert wait_until(lambda: t.stats.spooled == 10, timeout=10)
        assert len(list(spool.glob("*.spool"))) == 1
        faults(reject_count=0)  # the collector is back
        assert landed(collector, uid, 10) == 10
        assert wait_until(lambda: not list(spool.glob("*.spool")), timeout=5)
        assert t.stats.replayed == 10
    finally:
        t.shutdown(5)
    rows = collector.query(f"SELECT message_id FROM tenure.events FINAL WHERE startsWith(user_id, '{uid}') ORDER BY message_id")
    assert [r[0] for r in rows] == sorted(ids)  # the same ids: a retry is recognised, never doubled


def test_other_4xx_are_not_retried_and_reach_on_error(collector, uid):
    errors = []
    with Tracker("not-a-key", collector.url, on_error=lambda e, m: errors.append((e, m))) as t:
        mid = t.track("Denied", user_id=uid)
        assert t.flush(10)
        assert t.stats.retries == 0
    (exc, msgs), = errors
    assert isinstance(exc, DeliveryError) and exc.status == 401
    assert "unknown write key" in str(exc)
    assert [m["messageId"] for m in msgs] == [mid]


def test_collector_rejections_reach_on_error(collector, uid, caplog):
    errors = []
    # Let through a message the collector refuses (over its 32 KB limit) to see the 200 `rejected` list.
    with Tracker(collector.write_key, collector.url, max_message_bytes=64 * 1024,
                 on_error=lambda e, m: errors.append((e, m))) as t:
        ok = t.track("Fine", user_id=uid)
        bad = t.track("Huge", user_id=uid, properties={"blob": "x" * 40_000})
        assert t.flush(10)
        assert (t.stats.sent, t.stats.rejected) == (1, 1)
    (exc, msgs), = errors
    assert isinstance(exc, RejectedError) and exc.status == 200
    assert exc.rejections[0]["index"] == 1 and exc.rejections[0]["messageId"] == bad
    assert [m["messageId"] for m in msgs] == [bad]
    assert "RejectedError" in caplog.text
    assert landed(collector, uid, 1) == 1
    assert collector.query(f"SELECT message_id FROM tenure.events WHERE startsWith(user_id, '{uid}')") == [[ok]]


def test_sync_mode_send_false_gzip_off_and_debug(collector, uid, caplog):
    caplog.set_level(logging.DEBUG, logger="tenure.sdk")
    with Tracker(collector.write_key, collector.url, sync_mode=True, gzip=False, debug=True) as t:
        t.track("Synced", user_id=uid)
        assert t.stats.sent == 1 and t._thread is None  # sent on this thread, before returning
    assert "POST /v1/batch -> 200" in caplog.text
    with Tracker(collector.write_key, collector.url, send=False) as t:
        t.track("Dropped", user_id=uid)
        with pytest.raises(sdk.ValidationError):
            t.track("Dropped")
    assert landed(collector, uid, 1) == 1


def test_module_level_default_tracker(collector, uid):
    sdk.shutdown()
    with pytest.raises(NotInitializedError):
        sdk.track("x", user_id=uid)
    sdk.init(collector.write_key, collector.url)
    try:
        sdk.track("Scripted", user_id=uid)
        sdk.purchase(uid, order_id="o", revenue=1, currency="USD")
        assert sdk.flush(10)
    finally:
        sdk.shutdown()
    assert landed(collector, uid, 2) == 2
