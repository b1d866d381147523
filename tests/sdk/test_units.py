"""The parts that need no network: encoding, call-site validation, queue, retry policy, spool."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from tenure.sdk import Tracker, ValidationError
from tenure.sdk.batcher import Batcher
from tenure.sdk.config import Options, RetryPolicy
from tenure.sdk.encode import envelope, format_timestamp, now_timestamp, uuid7
from tenure.sdk.retry import Outcome, RetryState, backoff, is_retryable, parse_retry_after
from tenure.sdk.spool import Spool

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def tracker():
    t = Tracker("wk", send=False)
    yield t
    t.shutdown()


def decoded(tracker: Tracker, call, *args, **kwargs) -> dict:
    """What a call would put on the wire: captured from the queue of a tracker that queues only."""
    t = Tracker("wk", host="http://127.0.0.1:9", flush_interval=3600, flush_at=1000)
    try:
        getattr(t, call)(*args, **kwargs)
        (data,) = t._core.batcher.drain()
        return msgspec.json.decode(data)
    finally:
        t.shutdown(0)


# -- encoding ---------------------------------------------------------------------------------
def test_uuid7_is_a_time_ordered_version_7_uuid():
    a = uuid7(1_700_000_000_000)
    b = uuid7(1_700_000_000_001)
    u = uuid.UUID(a)
    assert u.version == 7 and u.variant == uuid.RFC_4122
    assert a < b
    assert int(a.replace("-", "")[:12], 16) == 1_700_000_000_000
    assert len({uuid7(5) for _ in range(10_000)}) == 10_000


def test_timestamps_are_utc_with_milliseconds():
    assert TS.match(now_timestamp())
    assert format_timestamp(datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)) == "2024-05-01T12:00:00.123Z"
    paris = timezone(timedelta(hours=2))
    assert format_timestamp(datetime(2024, 5, 1, 14, 0, tzinfo=paris)) == "2024-05-01T12:00:00.000Z"
    assert format_timestamp(datetime(2024, 5, 1, 12, 0)) == "2024-05-01T12:00:00.000Z"  # naive = UTC


def test_track_message_on_the_wire(tracker):
    msg = decoded(tracker, "track", "Report Exported", user_id="u1", properties={"rows": 3},
                  context={"ip": "1.2.3.4"})
    assert msg["type"] == "track" and msg["event"] == "Report Exported"
    assert msg["userId"] == "u1" and msg["properties"] == {"rows": 3}
    assert msg["context"] == {"ip": "1.2.3.4"}
    assert uuid.UUID(msg["messageId"]).version == 7
    assert TS.match(msg["timestamp"])
    assert "sentAt" not in msg and "anonymousId" not in msg


def test_given_message_id_and_timestamp_are_kept(tracker):
    msg = decoded(tracker, "identify", "u1", {"plan": "pro"}, message_id="m-1",
                  timestamp="2024-01-02T03:04:05.678Z")
    assert msg == {"traits": {"plan": "pro"}, "type": "identify", "messageId": "m-1",
                   "timestamp": "2024-01-02T03:04:05.678Z", "userId": "u1"}


def test_purchase_helper_normalises_and_keeps_extra_properties(tracker):
    msg = decoded(tracker, "purchase", "u1", order_id="o1", revenue="19.90", currency="eur",
                  items=[{"sku": "a", "price": 9.95, "quantity": 2}], properties={"coupon": "X"})
    assert msg["event"] == "purchase"
    assert msg["properties"] == {"coupon": "X", "order_id": "o1", "revenue": 19.9, "currency": "EUR",
                                 "items": [{"sku": "a", "price": 9.95, "quantity": 2}]}


def test_envelope_joins_encoded_messages_without_reencoding():
    body = envelope([b'{"a":1}', b'{"b":2}'], "2024-01-01T00:00:00.000Z")
    assert msgspec.json.decode(body) == {
        "batch": [{"a": 1}, {"b": 2}], "sentAt": "2024-01-01T00:00:00.000Z",
        "context": {"library": {"name": "tenure-sdk", "version": "0.1.0"}}}


# -- call-site validation ---------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, path, reason", [
    (dict(revenue=10, currency="USD"), "$.properties.order_id", "Object missing required field `order_id`"),
    (dict(order_id="o", revenue=-1, currency="USD"), "$.properties.revenue", "`revenue` must be a non-negative decimal below 10^14"),
    (dict(order_id="o", revenue="ten", currency="USD"), "$.properties.revenue", "Expected a decimal number"),
    (dict(order_id="o", revenue=1, currency="usd1"), "$.properties.currency", "Expected `str` matching regex '^[A-Za-z]{3}$'"),
    (dict(order_id="o", revenue=1), "$.properties.currency", "Object missing required field `currency`"),
    (dict(order_id="o", revenue=1, currency="USD", items=[{"sku": "a", "price": 1, "quantity": 0}]),
     "$.properties.items[0].quantity", "Expected `int` >= 1"),
])
def test_purchase_validation_errors(tracker, kwargs, path, reason):
    with pytest.raises(ValidationError) as info:
        tracker.purchase("u1", **kwargs)
    assert info.value.path == path
    assert info.value.reason == reason
    assert len(tracker._core.batcher) == 0


def test_identity_is_required(tracker):
    with pytest.raises(ValidationError) as info:
        tracker.track("x", properties={"a": 1})
    assert str(info.value) == "either `userId` or `anonymousId` is required - at `$`"
    tracker.track("x", anonymous_id="a1")  # either one is enough


def test_other_call_site_errors(tracker):
    with pytest.raises(ValidationError, match="either `element` or `target` is required") as info:
        tracker.click("u1", page="/home")
    assert info.value.path == "$.properties"
    with pytest.raises(ValidationError) as info:
        tracker.track("x", user_id="u1", properties={"blob": "x" * 40_000})
    assert info.value.reason.startswith("message is ") and info.value.reason.endswith("over the 32768 byte limit")
    with pytest.raises(ValidationError) as info:
        tracker.track("x", user_id="u1", properties=["not", "a", "dict"])
    assert (info.value.path, info.value.reason) == ("$.properties", "Expected `object`, got `list`")
    with pytest.raises(ValidationError, match="not JSON-encodable"):
        tracker.track("x", user_id="u1", properties={"when": object()})
    with pytest.raises(ValidationError) as info:
        tracker.track("", user_id="u1")
    assert info.value.path == "$.event"
    with pytest.raises(ValidationError) as info:
        tracker.track("x", user_id="u1", message_id="m" * 101)
    assert info.value.path == "$.messageId"
    with pytest.raises(ValidationError) as info:
        tracker.track("x", user_id="u1", timestamp="yesterday")
    assert info.value.path == "$.timestamp"
    with pytest.raises(ValidationError) as info:
        tracker.alias(None, "u1")
    assert info.value.path == "$.previousId"
    # a lifecycle event name sent through plain track() is checked the same way as the helper
    with pytest.raises(ValidationError) as info:
        tracker.track("Order Completed", user_id="u1", properties={"order_id": "o", "revenue": 1})
    assert info.value.path == "$.properties.currency"


def test_closed_tracker_raises():
    from tenure.sdk import ClosedError

    t = Tracker("wk", send=False)
    t.shutdown()
    t.shutdown()  # idempotent
    with pytest.raises(ClosedError):
        t.track("x", user_id="u")


def test_options_are_validated_and_frozen():
    with pytest.raises(ValueError, match="on_full='spool' needs a spool_dir"):
        Options(write_key="k", on_full="spool")
    with pytest.raises(TypeError, match="unknown tracker option"):
        Tracker("k", flushat=3)
    with pytest.raises(ValueError, match="host must be an http"):
        Tracker("k", host="127.0.0.1:8080")
    o = Options.build("k", "http://h:1/", max_retry_time=5, spool_dir="rel")
    assert o.retry.max_retry_time == 5 and o.on_full == "spool" and os.path.isabs(o.spool_dir)
    assert Options(write_key="k").on_full == "drop"
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        o.flush_at = 3  # frozen


def test_sync_sdk_does_not_import_aiohttp():
    code = "import sys, tenure.sdk as s; s.Tracker('k', send=False).track('x', user_id='u'); print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- queue --------------------------------------------------------------------------------------
def make_batcher(**kw) -> Batcher:
    args = dict(max_messages=10, max_bytes=1000, flush_at=3, batch_bytes=100, batch_messages=2500)
    args.update(kw)
    return Batcher(**args)


def test_batcher_caps_by_messages_and_bytes():
    b = make_batcher(max_messages=3)
    assert [b.put(b"x" * 5) for _ in range(4)] == [1, 1, 2, 0]
    b = make_batcher(max_bytes=20)
    assert b.put(b"x" * 15) == 1
    assert b.put(b"x" * 6) == 0
    assert b.put(b"x" * 5) == 1


def test_batcher_cuts_batches_by_count_and_size():
    b = make_batcher(flush_at=3, batch_bytes=100)
    for i in range(7):
        b.put(b"%d" % i)
    assert b.take() == [b"0", b"1", b"2"]
    assert b.take() == [b"3", b"4", b"5"]
    assert b.take(full_only=True) == []  # one left: wait for the interval
    assert b.take() == [b"6"]
    for _ in range(5):
        b.put(b"y" * 40)
    assert b.ready()
    assert len(b.take()) == 2  # 2 x 41 bytes fit in 100, a third would not
    assert b.nbytes == 120


# -- retry policy -------------------------------------------------------------------------------
def test_what_is_retried():
    assert [s for s in (None, 200, 400, 401, 408, 413, 429, 500, 503) if is_retryable(s)] == [None, 408, 429, 500, 503]


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("-2") == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


def test_full_jitter_backoff_is_bounded():
    p = RetryPolicy(initial_backoff=0.5, max_backoff=4.0)
    assert backoff(0, p, rand=lambda: 1.0) == 0.5
    assert backoff(2, p, rand=lambda: 1.0) == 2.0
    assert backoff(10, p, rand=lambda: 1.0) == 4.0
    assert backoff(10, p, rand=lambda: 0.0) == 0.0


def test_retry_state_budget_and_final_answers():
    now = [0.0]
    state = RetryState(RetryPolicy(initial_backoff=1, max_backoff=8, max_retry_time=10),
                       clock=lambda: now[0], rand=lambda: 1.0)
    assert state.next_wait(Outcome(200)) is None
    assert state.next_wait(Outcome(400)) is None
    assert state.next_wait(Outcome(503)) == 1
    assert state.next_wait(Outcome(None)) == 2
    assert state.next_wait(Outcome(429, retry_after="7")) == 7  # Retry-After wins over backoff
    now[0] = 9.0
    assert state.next_wait(Outcome(503, retry_after="2")) is None  # past the total budget


# -- spool ------------------------------------------------------------------------------------
def test_spool_round_trip_in_order(tmp_path):
    s = Spool(str(tmp_path))
    s.write([b'{"a":1}', b'{"a":2}'])
    s.write([b'{"a":3}'])
    files = s.pending()
    assert len(files) == 2
    assert [s.read(f)[1] for f in files] == [[b'{"a":1}', b'{"a":2}'], [b'{"a":3}']]
    for f in files:
        s.remove(f)
    assert not s


def test_truncated_spool_file_keeps_its_intact_lines(tmp_path, caplog):
    s = Spool(str(tmp_path))
    path = s.write([b'{"a":1}', b'{"a":2}', b'{"a":3}'])
    with open(path, "rb+") as f:
        f.truncate(len(b'{"a":1}\n{"a":2}\n{"a"'))
    (tmp_path / "garbage.spool").write_bytes(b"\x00\xff not json\n")
    (tmp_path / "half.spool.tmp").write_bytes(b'{"a":9}')  # a crash mid-write: ignored
    results = [s.read(p) for p in s.pending()]
    assert [m for _, m in results] == [[b'{"a":1}', b'{"a":2}'], []]
    assert "damaged" in caplog.text
    assert sorted(p.name.split(".", 1)[1] for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "spool", "spool.corrupt", "spool.corrupt", "spool.tmp"]
    assert [s.read(p)[1] for p in s.pending()] == [[b'{"a":1}', b'{"a":2}']]  # rewritten whole


def test_replay_lock_is_exclusive(tmp_path):
    s1, s2 = Spool(str(tmp_path)), Spool(str(tmp_path))
    with s1.replay_lock() as first:
        with s2.replay_lock() as second:
            assert (first, second) == (True, False)
    with s2.replay_lock() as again:
        assert again


def test_queue_full_drops_newest_and_reports():
    errors = []
    t = Tracker("wk", host="http://127.0.0.1:9", max_queue_size=3, flush_interval=3600,
                on_error=lambda exc, msgs: errors.append((exc, msgs)))
    try:
        ids = [t.track("x", user_id="u", properties={"i": i}) for i in range(5)]
        assert t.stats.dropped == 2
        assert [type(e).__name__ for e, _ in errors] == ["QueueFullError", "QueueFullError"]
        assert [m[0]["messageId"] for _, m in errors] == ids[3:]
    finally:
        t.shutdown(0)


def test_queue_full_spills_to_the_spool(tmp_path):
    t = Tracker("wk", host="http://127.0.0.1:9", max_queue_size=3, flush_interval=3600,
                spool_dir=str(tmp_path))
    try:
        for i in range(7):
            t.track("x", user_id="u", properties={"i": i})
        assert t.stats.dropped == 0 and t.stats.spooled == 6
        assert len(t._core.batcher) == 1
    finally:
        t._core.spool = None  # keep this test off the network: nothing to replay
        t.shutdown(0)
