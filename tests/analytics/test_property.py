"""Property test: random event streams ingested through the real collector answer every insight
exactly as the plain-Python reference (tests/analytics/reference.py) computes from the same messages.

Streams have several persons, anonymous ids joined by identify/alias (often after their events),
duplicated messageIds, and batches delivered out of order. Each example gets its own project
(write key) on one collector started for this module."""

from __future__ import annotations

import os
import random
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from . import reference as ref

N_PROJECTS = 400
BASE = datetime(2020, 6, 20, tzinfo=timezone.utc)
SPAN_MIN = 30 * 24 * 60   # 2020-06-20 .. 2020-07-20
DATE_TO = "2020-07-20"
AS_OF = datetime(2020, 7, 21, tzinfo=timezone.utc)

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def prop_collector(tmp_path_factory):
    from tests.conftest import CollectorProcess   # the lead's collector harness

    keys = ",".join(f"prop{i}:wk_prop_{i:04d}_0123456789" for i in range(N_PROJECTS))
    proc = CollectorProcess(tmp_path_factory.mktemp("prop-collector"), write_keys=keys).start()
    proc.next_project = 0
    yield proc
    proc.stop()


def _minute_near_boundaries():
    # plenty of events right around local midnights (UTC, Tokyo, Kolkata, Los Angeles) and month ends
    return st.one_of(
        st.integers(0, SPAN_MIN - 1),
        st.sampled_from([d * 1440 + off for d in range(0, 30, 3) for off in (-1, 0, 1, 14 * 60 + 59, 15 * 60, 18 * 60 + 29,
                                                                            18 * 60 + 30, 7 * 60 - 1, 7 * 60)
                         if 0 <= d * 1440 + off < SPAN_MIN]),
    )


@st.composite
def streams(draw):
    users = [f"u{i}" for i in range(draw(st.integers(1, 4)))]
    anons = [f"a{i}" for i in range(draw(st.integers(0, 4)))]
    messages = []
    n = draw(st.integers(1, 28))
    for i in range(n):
        minute = draw(_minute_near_boundaries())
        ts = (BASE + timedelta(minutes=minute, seconds=draw(st.integers(0, 59)))).isoformat().replace("+00:00", "Z")
        who = draw(st.sampled_from(["user", "anon", "both"] if anons else ["user"]))
        ident = {}
        if who in ("user", "both"):
            ident["userId"] = draw(st.sampled_from(users))
        if who in ("anon", "both"):
            ident["anonymousId"] = draw(st.sampled_from(anons))
        kind = draw(st.sampled_from(["click", "view", "register", "purchase", "page", "click", "view"]))
        msg = {"messageId": f"m{i}", "timestamp": ts, **ident}
        if kind == "page":
            msg.update(type="page", name="Home", properties={})
        else:
            props = {}
            if kind == "click":
                props = {"element": "button"}
            elif kind == "purchase":
                cents = draw(st.integers(0, 50000))
                props = {"order_id": f"o{i}", "revenue": f"{cents // 100}.{cents % 100:02d}", "currency": "USD"}
            msg.update(type="track", event=kind, properties=props)
        messages.append(msg)
    for j, anon in enumerate(anons):
        how = draw(st.sampled_from(["none", "identify", "alias"]))
        if how == "none":
            continue
        minute = draw(st.integers(0, SPAN_MIN + 1440))
        ts = (BASE + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
        user = draw(st.sampled_from(users))
        if how == "identify":
            messages.append({"type": "identify", "messageId": f"id{j}", "timestamp": ts, "anonymousId": anon,
                             "userId": user, "traits": {}})
        else:
            messages.append({"type": "alias", "messageId": f"al{j}", "timestamp": ts, "previousId": anon, "userId": user})
    # delivery: shuffled, several batches, some messages sent twice
    seed = draw(st.integers(0, 2**32 - 1))
    rnd = random.Random(seed)
    sends = messages + [rnd.choice(messages) for _ in range(draw(st.integers(0, 6)))]
    rnd.shuffle(sends)
    cuts = sorted(rnd.sample(range(1, len(sends)), min(len(sends) - 1, draw(st.integers(0, 3))))) if len(sends) > 1 else []
    batches, prev = [], 0
    for cut in cuts + [len(sends)]:
        batches.append(sends[prev:cut])
        prev = cut
    return messages, [b for b in batches if b]


def _get(proc, metric: str, params: list[tuple[str, str]]):
    url = f"/v1/insights/{metric}?" + urllib.parse.urlencode(params)
    resp = proc.request("GET", url, headers={"Authorization": f"Bearer {proc.admin_key}"})
    assert resp.status == 200, resp.body
    return resp.json()


def _ingest(proc, messages, batches) -> str:
    i = proc.next_project
    proc.next_project += 1
    assert i < N_PROJECTS, "raise N_PROJECTS"
    project, key = f"prop{i}", f"wk_prop_{i:04d}_0123456789"
    for batch in batches:
        resp = proc.post("/v1/batch", {"batch": batch}, key=key)
        assert resp.status == 200 and resp.json()["rejected"] == [], resp.body
    # every message stored, and the views' rows written too (a view's part can land a moment after
    # the events part): wait for the exact distinct keys each table must hold
    activity = [m for m in messages if m["type"] in ("track", "page", "screen")]
    raw_id = lambda m: (m.get("userId") or m["anonymousId"], not m.get("userId"))   # noqa: E731
    name = lambda m: m["event"] if m["type"] == "track" else m["type"]   # noqa: E731
    want = [[len({m["messageId"] for m in messages}),
             len({(name(m), raw_id(m)) for m in activity}),
             len({(name(m), raw_id(m), m["timestamp"][:10]) for m in activity}),
             len({m["messageId"] for m in activity if name(m) == "purchase"}),
             len({m.get("previousId") or m.get("anonymousId") for m in messages if m["type"] in ("identify", "alias")})]]
    sql = (f"SELECT (SELECT count(DISTINCT message_id) FROM tenure.events WHERE project = '{project}'), "
           f"(SELECT count() FROM (SELECT DISTINCT event, person_key, anon FROM tenure.person_first_seen WHERE project = '{project}')), "
           f"(SELECT count() FROM (SELECT DISTINCT event, person_key, anon, day FROM tenure.person_activity WHERE project = '{project}')), "
           f"(SELECT count(DISTINCT message_id) FROM tenure.purchases WHERE project = '{project}'), "
           f"(SELECT count() FROM tenure.identity_map WHERE project = '{project}')")
    got = proc.wait_for(sql, want)
    assert got == want
    return project


def _r(x):
    return None if x is None else round(x, 6)


RETENTION_CASES = [
    dict(period="day", tz="UTC", intervals=10),
    dict(period="day", tz="Asia/Kolkata", intervals=31, cumulative=True),
    dict(period="week", tz="Asia/Tokyo", week_start="monday", intervals=5, retention_type="recurring"),
    dict(period="week", tz="America/Los_Angeles", intervals=5, start_event="register", return_event="purchase"),
    dict(period="month", tz="America/Los_Angeles", intervals=3, retention_type="recurring", cumulative=True),
    dict(period="day", tz="Asia/Tokyo", intervals=12, window="rolling"),
    dict(period="hour", tz="Asia/Kolkata", intervals=30, date_to="2020-06-21T05:00"),
]


@settings(max_examples=int(os.environ.get("TENURE_PROP_EXAMPLES", "18")), deadline=None, suppress_health_check=list(HealthCheck))
@given(data=streams())
def test_insights_match_reference(prop_collector, data):
    messages, batches = data
    project = _ingest(prop_collector, messages, batches)
    store = ref.Store(messages)

    for case in RETENTION_CASES:
        case = {"date_to": DATE_TO, **case}
        params = [("project", project)] + [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in case.items()]
        got = _get(prop_collector, "retention", params)
        assert [(c["cohort"], c["values"]) for c in got["cohorts"]] == ref.retention(store, **case), case

    for case in (dict(period="day", tz="UTC", date_from="2020-06-25"), dict(period="week", tz="Asia/Tokyo", event="click", date_from="2020-06-21"),
                 dict(period="month", tz="America/Los_Angeles", date_from="2020-06-01")):
        got = _get(prop_collector, "lifecycle", [("project", project), ("date_to", DATE_TO)] + [(k, v) for k, v in case.items()])
        expected = ref.lifecycle(store, date_to=DATE_TO, **case)
        assert {k: got[k] for k in expected} == expected, case

    got = _get(prop_collector, "active", [("project", project), ("date_from", "2020-07-10"), ("date_to", DATE_TO), ("tz", "America/Los_Angeles")])
    expected = ref.active(store, tz="America/Los_Angeles", date_from="2020-07-10", date_to=DATE_TO)
    assert {k: got[k] for k in expected} == expected

    got = _get(prop_collector, "stickiness", [("project", project), ("period", "day"), ("date_from", "2020-07-01"), ("date_to", DATE_TO), ("tz", "Asia/Tokyo")])
    assert got["counts"] == ref.stickiness(store, period="day", tz="Asia/Tokyo", date_from="2020-07-01", date_to=DATE_TO)

    for order in ("ordered", "strict", "unordered"):
        params = [("project", project), ("step", "view"), ("step", "click"), ("step", "purchase"), ("order", order),
                  ("window", "2d"), ("date_from", "2020-06-20"), ("date_to", "2020-07-15"), ("tz", "Asia/Tokyo")]
        got = _get(prop_collector, "funnel", params)
        expected = ref.funnel(store, steps=["view", "click", "purchase"], order=order, window_s=2 * 86400,
                              tz="Asia/Tokyo", date_from="2020-06-20", date_to="2020-07-15")
        actual = [(s["count"], _r(s["avg_time_s"]), _r(s["median_time_s"])) for s in got["steps"]]
        assert actual == [(c, _r(a), _r(m)) for c, a, m in expected], order

    got = _get(prop_collector, "rfm", [("project", project), ("as_of", AS_OF.isoformat())])
    assert {p["person"]: (p["recency_days"], p["frequency"], p["monetary"], p["r"], p["f"], p["m"])
            for p in got["persons"]} == ref.rfm(store, as_of=AS_OF)

    got = _get(prop_collector, "ltv", [("project", project), ("period", "week"), ("tz", "UTC"), ("date_to", DATE_TO), ("intervals", "5")])
    assert [(c["cohort"], c["size"], c["values"]) for c in got["cohorts"]] == ref.ltv(
        store, period="week", tz="UTC", date_to=DATE_TO, intervals=5)

    got = _get(prop_collector, "churn-risk", [("project", project), ("as_of", AS_OF.isoformat()), ("limit", "1000")])
    assert {p["person"]: (p["days_since_active"], [r.split(":")[0] for r in p["reasons"]]) for p in got["persons"]} == \
        ref.churn(store, as_of=AS_OF)
