"""Ingestion through the real collector: every message type, auth, limits, validation, dedupe, skew."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest


def uid(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_every_message_type_lands_with_its_columns(collector):
    user, anon = uid("u"), uid("a")
    ids = {t: uid(t) for t in ("track", "identify", "alias", "page", "screen", "group", "purchase")}
    batch = [
        {"type": "track", "messageId": ids["track"], "userId": user, "event": "Signed Up",
         "properties": {"method": "google", "plan": {"tier": "pro"}}, "context": {"library": {"name": "test"}}},
        {"type": "identify", "messageId": ids["identify"], "userId": user, "anonymousId": anon, "traits": {"email": "a@b.c"}},
        {"type": "alias", "messageId": ids["alias"], "previousId": anon, "userId": user},
        {"type": "page", "messageId": ids["page"], "anonymousId": anon, "name": "Pricing", "properties": {"path": "/pricing"}},
        {"type": "screen", "messageId": ids["screen"], "userId": user, "name": "Home"},
        {"type": "group", "messageId": ids["group"], "userId": user, "groupId": "acme", "traits": {"seats": 5}},
        {"type": "track", "messageId": ids["purchase"], "userId": user, "event": "Order Completed",
         "properties": {"order_id": "o-1", "revenue": 19.99, "currency": "eur", "items": [{"sku": "s1", "price": 19.99}]}},
    ]
    resp = collector.post("/v1/batch", {"batch": batch})
    assert resp.status == 200
    assert resp.json() == {"success": True, "accepted": 7, "rejected": []}
    sql = (
        "SELECT message_id, type, event, sent_event, name, user_id, anonymous_id, previous_id, group_id, "
        "toString(properties), toString(traits), revenue, currency, order_id, toString(context.library.name) "
        f"FROM tenure.events WHERE user_id = '{user}' OR anonymous_id = '{anon}' ORDER BY message_id"
    )
    rows = _wait_rows(collector, sql, 7)
    by_id = {r[0]: r[1:] for r in rows}
    assert by_id[ids["track"]][:8] == ["track", "register", "Signed Up", "", user, "", "", ""]
    assert json.loads(by_id[ids["track"]][8]) == {"method": "google", "plan": {"tier": "pro"}}
    assert by_id[ids["track"]][13] == "test"
    assert by_id[ids["identify"]][:8] == ["identify", "", "", "", user, anon, "", ""]
    assert json.loads(by_id[ids["identify"]][9]) == {"email": "a@b.c"}
    assert by_id[ids["alias"]][:8] == ["alias", "", "", "", user, "", anon, ""]
    assert by_id[ids["page"]][:8] == ["page", "page", "page", "Pricing", "", anon, "", ""]
    assert by_id[ids["screen"]][:8] == ["screen", "screen", "screen", "Home", user, "", "", ""]
    assert by_id[ids["group"]][:8] == ["group", "", "", "", user, "", "", "acme"]
    assert json.loads(by_id[ids["group"]][9]) == {"seats": 5}
    purchase = by_id[ids["purchase"]]
    assert purchase[:3] == ["track", "purchase", "Order Completed"]
    assert float(purchase[10]) == pytest.approx(19.99) and purchase[11:13] == ["EUR", "o-1"]
    # identify + alias feed the identity map
    mapped = _wait_rows(collector, f"SELECT anonymous_id, user_id FROM tenure.identity_map WHERE user_id = '{user}'", 1)
    assert mapped == [[anon, user]]


def _wait_rows(collector, sql: str, count: int, timeout: float = 10.0) -> list[list]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        rows = collector.query(sql)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def _barrier(collector) -> None:
    """Send a marker and wait until it is stored: the writer stores in order, so everything
    acknowledged before it is stored too (or was never going to be)."""
    marker = uid("barrier")
    assert collector.post("/v1/batch", {"batch": [{"type": "track", "event": "barrier", "userId": "b", "messageId": marker}]}).status == 200
    assert _wait_rows(collector, f"SELECT 1 FROM tenure.events WHERE message_id = '{marker}'", 1) == [[1]]


@pytest.mark.parametrize("route,message", [
    ("/v1/track", {"event": "Viewed", "userId": "u-single"}),
    ("/v1/identify", {"userId": "u-single", "traits": {"name": "x"}}),
    ("/v1/alias", {"previousId": "a-single", "userId": "u-single"}),
    ("/v1/page", {"anonymousId": "a-single", "name": "Docs"}),
    ("/v1/screen", {"userId": "u-single", "name": "Feed"}),
    ("/v1/group", {"userId": "u-single", "groupId": "g1"}),
])
def test_single_message_routes(collector, route, message):
    message_id = uid()
    resp = collector.post(route, {**message, "messageId": message_id})
    assert resp.status == 200 and resp.json()["accepted"] == 1
    rows = _wait_rows(collector, f"SELECT type FROM tenure.events WHERE message_id = '{message_id}'", 1)
    assert rows == [[route.rsplit("/", 1)[1]]]


def test_gzip_body_and_body_write_key(collector):
    message_id = uid()
    payload = {"batch": [{"type": "track", "event": "gz", "userId": "u-gz", "messageId": message_id}],
               "writeKey": collector.write_key}
    resp = collector.post("/v1/batch", payload, key=None, gzip=True)
    assert resp.status == 200, resp.body
    assert _wait_rows(collector, f"SELECT event FROM tenure.events WHERE message_id = '{message_id}'", 1) == [["gz"]]


def test_missing_and_unknown_keys_are_401(collector):
    batch = {"batch": [{"type": "track", "event": "x", "userId": "u"}]}
    missing = collector.post("/v1/batch", batch, key=None)
    assert missing.status == 401
    assert missing.json() == {"success": False, "error": "missing write key: send it as the Basic auth user, X-Write-Key or writeKey"}
    unknown = collector.post("/v1/batch", batch, key="wk_wrong_key")
    assert unknown.status == 401 and unknown.json()["error"].startswith("unknown write key")
    body_unknown = collector.post("/v1/batch", {**batch, "writeKey": "nope"}, key=None)
    assert body_unknown.status == 401
    via_header = collector.post("/v1/batch", batch, key=None, headers={"X-Write-Key": collector.write_key})
    assert via_header.status == 200


def test_query_needs_the_admin_key(collector):
    resp = collector.request("POST", "/v1/query", b'{"sql": "SELECT 1"}', {"Authorization": "Bearer " + collector.write_key})
    assert resp.status == 401
    assert resp.json()["error"] == "admin key required: Authorization: Bearer <admin key>"


def test_oversized_body_is_413(collector):
    big = {"batch": [{"type": "track", "event": "x", "userId": "u", "properties": {"pad": "x" * 20_000}}] * 30}
    resp = collector.post("/v1/batch", big)
    assert resp.status == 413
    assert "over the limit of 512000" in resp.json()["error"]


def test_gzip_bomb_is_413_without_inflating_it(collector):
    bomb = gzip.compress(b'{"batch": [' + b" " * (200 * 1024 * 1024) + b"]}", compresslevel=9)
    assert len(bomb) < 512_000  # small on the wire
    resp = collector.post("/v1/batch", bomb, gzip=False, headers={"Content-Encoding": "gzip"})
    assert resp.status == 413
    assert resp.json()["error"] == "decompressed body is over the limit of 512000 bytes"
    assert collector.get("/healthz").status == 200


def test_oversized_message_is_rejected_alone(collector):
    ok_id = uid()
    batch = [{"type": "track", "event": "big", "userId": "u", "properties": {"pad": "x" * 40_000}},
             {"type": "track", "event": "small", "userId": "u", "messageId": ok_id}]
    resp = collector.post("/v1/batch", {"batch": batch})
    assert resp.status == 200
    body = resp.json()
    assert body["accepted"] == 1
    assert body["rejected"][0]["index"] == 0 and body["rejected"][0]["field"] == "$.batch[0]"
    assert body["rejected"][0]["error"].endswith("over the limit of 32768")


@pytest.mark.parametrize("payload,error", [
    (b"{not json", "malformed JSON"),
    (b"[1, 2]", "not a batch: Expected `object`, got `array` at $"),
    (b'{"events": []}', "not a batch: Object missing required field `batch` at $"),
    (b'{"batch": {"type": "track"}}', "not a batch: Expected `array`, got `object` at $.batch"),
])
def test_unusable_body_is_400(collector, payload, error):
    resp = collector.post("/v1/batch", payload)
    assert resp.status == 400
    assert resp.json()["success"] is False
    assert resp.json()["error"].startswith(error)


def test_invalid_messages_go_to_quarantine_with_reasons(collector):
    good, bad_purchase, no_ids, bad_currency = uid("good"), uid("bad"), uid("noid"), uid("cur")
    batch = [
        {"type": "track", "event": "ok", "userId": "u-q", "messageId": good},
        {"type": "track", "event": "purchase", "userId": "u-q", "messageId": bad_purchase,
         "properties": {"order_id": "o", "revenue": -5, "currency": "USD"}},
        {"type": "track", "event": "ok", "messageId": no_ids},
        {"type": "track", "event": "Order Completed", "userId": "u-q", "messageId": bad_currency,
         "properties": {"order_id": "o", "revenue": 5, "currency": "usd1"}},
        {"type": "teleport", "userId": "u-q"},
    ]
    resp = collector.post("/v1/batch", {"batch": batch})
    assert resp.status == 200
    body = resp.json()
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {"index": 1, "messageId": bad_purchase, "field": "$.batch[1].properties",
         "error": "`revenue` must be a non-negative decimal below 10^14 (required by the `purchase` event)"},
        {"index": 2, "messageId": no_ids, "field": "$.batch[2].userId",
         "error": "either `userId` or `anonymousId` is required"},
        {"index": 3, "messageId": bad_currency, "field": "$.batch[3].properties.currency",
         "error": "Expected `str` matching regex '^[A-Za-z]{3}$' (required by the `purchase` event)"},
        {"index": 4, "messageId": "", "field": "$.batch[4].type", "error": "Invalid value 'teleport'"},
    ]
    ids = (good, bad_purchase, no_ids, bad_currency)
    assert _wait_rows(collector, f"SELECT message_id FROM tenure.events WHERE message_id IN {ids}", 1) == [[good]]
    quarantined = _wait_rows(collector, f"SELECT message_id, field, raw FROM tenure.quarantine WHERE message_id IN {ids} ORDER BY field", 3)
    assert [(r[0], r[1]) for r in quarantined] == [
        (bad_purchase, "$.batch[1].properties"),
        (no_ids, "$.batch[2].userId"),
        (bad_currency, "$.batch[3].properties.currency"),
    ]
    assert json.loads(quarantined[0][2])["properties"]["revenue"] == -5  # kept verbatim


def test_same_message_id_twice_counts_once(collector):
    message_id = uid("dup")
    msg = {"type": "track", "event": "dup", "userId": "u-dup", "messageId": message_id,
           "timestamp": "2024-05-01T10:00:00.000Z", "sentAt": "2024-05-01T10:00:00.000Z"}
    for _ in range(3):
        assert collector.post("/v1/batch", {"batch": [msg]}).status == 200
    _barrier(collector)
    assert collector.query(f"SELECT count() FROM tenure.events FINAL WHERE message_id = '{message_id}'") == [[1]]
    assert collector.query(f"SELECT count(DISTINCT message_id) FROM tenure.events WHERE message_id = '{message_id}'") == [[1]]


def test_clock_skew_is_corrected(collector):
    # The client clock is 2 hours ahead: it says the event happened at 12:00 and was sent at 12:05.
    skewed, original, no_sent, no_ts = uid("skew"), uid("orig"), uid("nosent"), uid("nots")
    client_now = datetime.now(timezone.utc) + timedelta(hours=2)
    event_time = client_now - timedelta(minutes=5)
    batch = [
        {"type": "track", "event": "x", "userId": "u-skew", "messageId": skewed, "timestamp": iso(event_time)},
        {"type": "track", "event": "x", "userId": "u-skew", "messageId": original, "originalTimestamp": iso(event_time)},
        {"type": "track", "event": "x", "userId": "u-skew", "messageId": no_ts},
    ]
    resp = collector.post("/v1/batch", {"batch": batch, "sentAt": iso(client_now)})
    assert resp.status == 200
    resp = collector.post("/v1/batch", {"batch": [{"type": "track", "event": "x", "userId": "u-skew", "messageId": no_sent,
                                                  "timestamp": "2024-01-02T03:04:05.678Z"}]})
    assert resp.status == 200
    rows = _wait_rows(collector, (
        "SELECT message_id, toUnixTimestamp64Milli(timestamp), toUnixTimestamp64Milli(received_at), "
        "toUnixTimestamp64Milli(original_timestamp), timestamp_replaced "
        "FROM tenure.events WHERE user_id = 'u-skew' ORDER BY message_id"), 4)
    by_id = {r[0]: r[1:] for r in rows}
    for message_id in (skewed, original):
        ts, received, orig, replaced = by_id[message_id]
        assert received - ts == 5 * 60 * 1000  # receivedAt - (sentAt - timestamp)
        assert orig == int(event_time.timestamp() * 1000)
        assert replaced is False
    ts, received, orig, _ = by_id[no_ts]
    assert ts == received and orig is None
    ts, _, orig, _ = by_id[no_sent]
    assert ts == orig == int(datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc).timestamp() * 1000)


def test_implausible_timestamp_is_replaced_and_flagged(collector):
    message_id = uid("future")
    resp = collector.post("/v1/batch", {"batch": [{"type": "track", "event": "x", "userId": "u-f", "messageId": message_id,
                                                   "timestamp": "2099-01-01T00:00:00Z"}]})
    assert resp.status == 200
    rows = _wait_rows(collector, f"SELECT timestamp = received_at, timestamp_replaced FROM tenure.events WHERE message_id = '{message_id}'", 1)
    assert rows == [[True, True]]


def test_health_ready_metrics_and_cors(collector):
    assert collector.get("/healthz").json() == {"status": "ok"}
    ready = collector.get("/readyz")
    assert ready.status == 200 and ready.json()["status"] == "ok"
    metrics = collector.get("/metrics").body.decode()
    assert "tenure_messages_accepted_total" in metrics
    preflight = collector.request("OPTIONS", "/v1/batch", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_openapi_describes_every_route(collector):
    spec = collector.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/v1/batch", "/v1/track", "/v1/identify", "/v1/alias", "/v1/page", "/v1/screen", "/v1/group",
                 "/v1/query", "/v1/insights/retention", "/v1/insights/lifecycle", "/v1/insights/funnel"):
        assert path in spec["paths"], path


def test_a_resend_with_another_timestamp_is_stored_once(collector_factory, tmp_path):
    """SDK retries carry a new sentAt (so another corrected timestamp), and a message without a
    timestamp takes the receive time: the copy must not land on another day, also after a restart."""
    data = tmp_path / "resend"
    proc = collector_factory(data).start()
    message_id = uid("resend")
    first = {"type": "track", "event": "x", "userId": "u-resend", "messageId": message_id, "timestamp": "2024-01-01T23:59:59.990Z"}
    assert proc.post("/v1/batch", {"batch": [first, first]}).json()["accepted"] == 2
    moved = {**first, "timestamp": "2024-01-03T10:00:00Z"}
    assert proc.post("/v1/batch", {"batch": [moved]}).json() == {"success": True, "accepted": 1, "rejected": []}
    sql = f"SELECT toString(timestamp) FROM tenure.events FINAL WHERE message_id = '{message_id}'"
    assert _wait_rows(proc, sql, 1) == [["2024-01-01 23:59:59.990"]]
    assert proc.stop() == 0
    again = collector_factory(data, port=proc.port).start()
    assert again.post("/v1/batch", {"batch": [{**first, "timestamp": "2024-01-02T00:00:00.010Z"}]}).status == 200
    _barrier(again)
    assert again.query(sql) == [["2024-01-01 23:59:59.990"]]
    assert "tenure_messages_resent_total{project=\"test\"} 1.0" in again.get("/metrics").body.decode()


def test_a_write_key_in_a_rejected_body_is_not_stored(collector):
    message_id = uid("wk")
    resp = collector.post("/v1/track", {"writeKey": collector.write_key, "messageId": message_id, "event": ""}, key=None)
    assert resp.status == 200 and resp.json()["rejected"][0]["messageId"] == message_id
    raw = _wait_rows(collector, f"SELECT raw FROM tenure.quarantine WHERE message_id = '{message_id}'", 1)[0][0]
    assert collector.write_key not in raw and json.loads(raw)["writeKey"] == "<redacted>"


def test_batch_context_merges_deeply_and_null_properties_are_empty(collector):
    message_id = uid("ctx")
    batch = {"batch": [{"type": "track", "event": "x", "userId": "u", "messageId": message_id, "properties": None,
                        "context": {"library": {"version": "2"}}}],
             "context": {"library": {"name": "lib"}, "locale": "fr"}}
    assert collector.post("/v1/batch", batch).json()["accepted"] == 1
    rows = _wait_rows(collector, f"SELECT toString(context), toString(properties) FROM tenure.events WHERE message_id = '{message_id}'", 1)
    assert json.loads(rows[0][0]) == {"library": {"name": "lib", "version": "2"}, "locale": "fr"}
    assert rows[0][1] == "{}"


def test_raw_and_zlib_deflate_bodies(collector):
    import zlib

    for wbits, label in ((zlib.MAX_WBITS, "zlib"), (-zlib.MAX_WBITS, "raw")):
        message_id = uid(label)
        body = json.dumps({"batch": [{"type": "track", "event": "x", "userId": "u", "messageId": message_id}]}).encode()
        packer = zlib.compressobj(wbits=wbits)
        resp = collector.post("/v1/batch", packer.compress(body) + packer.flush(), headers={"Content-Encoding": "deflate"})
        assert resp.status == 200, resp.body
        assert _wait_rows(collector, f"SELECT 1 FROM tenure.events WHERE message_id = '{message_id}'", 1) == [[1]]


def test_half_an_emoji_does_not_cost_the_batch(collector):
    cut, whole = uid("cut"), uid("whole")
    body = ('{"batch": [{"type": "track", "event": "x", "userId": "u", "messageId": "%s", "properties": {"t": "hi \\ud83d"}},'
            ' {"type": "track", "event": "x", "userId": "u", "messageId": "%s", "properties": {"t": "\\ud83d\\ude00"}}]}'
            % (cut, whole)).encode()
    resp = collector.post("/v1/batch", body)
    assert resp.status == 200 and resp.json()["accepted"] == 2
    rows = _wait_rows(collector, f"SELECT message_id, toString(properties.t) FROM tenure.events WHERE message_id IN ('{cut}', '{whole}') ORDER BY message_id", 2)
    assert dict(rows) == {cut: "hi \ufffd", whole: "\U0001F600"}
