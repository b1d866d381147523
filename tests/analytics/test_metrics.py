"""Lifecycle, active users, stickiness, funnels, RFM, LTV and churn risk on hand-made cases."""

from __future__ import annotations

import pytest

from tenure.analytics import InvalidParameter, active, churn_risk, funnel, lifecycle, ltv, rfm, stickiness

from .conftest import ev, identify, insert

DAYS = ["2020-06-10", "2020-06-11", "2020-06-12", "2020-06-13", "2020-06-14"]


def both(fn, client, project, **kw):
    compact = fn(client, project, source="compact", **kw)
    raw = fn(client, project, source="raw", **kw)
    assert compact == raw
    return compact


@pytest.fixture
def lifecycle_events(ch, project):
    insert(ch, project, [
        ev("2020-06-09 10:00", "p1"), ev("2020-06-10 10:00", "p1"), ev("2020-06-12 10:00", "p1"),
        ev("2020-06-11 10:00", anon="a2"), ev("2020-06-12 10:00", "p2", event="register"), ev("2020-06-14 10:00", "p2"),
        ev("2020-06-05 10:00", "p3"), ev("2020-06-11 10:00", "p3"),
        identify("2020-06-12 09:00", "p2", "a2"),
    ])
    return project


def test_lifecycle(ch, lifecycle_events):
    got = both(lifecycle, ch, lifecycle_events, date_from="2020-06-10", date_to="2020-06-14")
    assert got["periods"] == [d + "T00:00:00+00:00" for d in DAYS]
    assert got["new"] == [0, 1, 0, 0, 0]
    assert got["returning"] == [1, 0, 1, 0, 0]
    assert got["resurrecting"] == [0, 1, 1, 0, 1]
    assert got["dormant"] == [0, -1, -1, -2, 0]


def test_lifecycle_register_anchor(ch, lifecycle_events):
    got = both(lifecycle, ch, lifecycle_events, date_from="2020-06-10", date_to="2020-06-14", new_anchor="register")
    assert got["new"] == [0, 0, 1, 0, 0]
    assert got["returning"] == [1, 0, 0, 0, 0]
    assert got["resurrecting"] == [0, 2, 1, 0, 1]
    assert got["dormant"] == [0, -1, -1, -2, 0]


def test_lifecycle_one_event_and_time_zone(ch, project):
    # 23:30 UTC is the next day in Tokyo and the same day in New York
    insert(ch, project, [ev("2020-06-10 23:30", "z1", event="login"), ev("2020-06-11 10:00", "z1", event="click")])
    tokyo = both(lifecycle, ch, project, event="login", date_from="2020-06-10", date_to="2020-06-12", tz="Asia/Tokyo")
    assert (tokyo["new"], tokyo["dormant"]) == ([0, 1, 0], [0, 0, -1])
    ny = both(lifecycle, ch, project, event="click", date_from="2020-06-10", date_to="2020-06-12", tz="America/New_York")
    # the first-ever event (the login) is on June 10 in New York: the June 11 click is not new, and
    # there was no click on June 10, so it is resurrecting
    assert (ny["new"], ny["resurrecting"], ny["dormant"]) == ([0, 0, 0], [0, 1, 0], [0, 0, -1])


def test_active_users(ch, project):
    insert(ch, project, [ev("2020-06-01 10:00", "q1"), ev("2020-06-05 10:00", "q2"), ev("2020-06-10 10:00", "q2")])
    got = both(active, ch, project, date_from="2020-06-09", date_to="2020-06-10")
    assert got == {"tz": "UTC", "days": ["2020-06-09", "2020-06-10"], "dau": [0, 1], "wau": [1, 1],
                   "mau": [2, 2], "dau_mau": [0.0, 0.5]}


def test_stickiness(ch, project):
    insert(ch, project, [ev("2020-06-09 10:00", "s1"), ev("2020-06-10 10:00", "s1"), ev("2020-06-09 10:00", "s2")]
           + [ev(f"2020-06-{d:02d} 10:00", "s3") for d in (9, 10, 11, 12)] + [ev("2020-06-13 10:00", "s2")])
    got = both(stickiness, ch, project, date_from="2020-06-09", date_to="2020-06-12")
    assert got["counts"] == [1, 1, 0, 1]


@pytest.fixture
def funnel_events(ch, project):
    insert(ch, project, [
        ev("2020-06-10 10:00", "f1", event="view"), ev("2020-06-10 10:05", "f1", event="click"),
        ev("2020-06-10 10:10", "f1", event="signup"), ev("2020-06-10 12:00", "f1", event="purchase", revenue="1"),
        ev("2020-06-10 10:00", "f2", event="view"), ev("2020-06-10 11:00", "f2", event="signup"),
        ev("2020-06-12 11:00", "f2", event="purchase", revenue="1"),
        ev("2020-06-10 09:00", "f3", event="signup"), ev("2020-06-10 10:00", "f3", event="view"),
    ])
    return project


def _steps(answer):
    return [(s["count"], s["avg_time_s"], s["median_time_s"]) for s in answer["steps"]]


def test_funnel_orders(ch, funnel_events):
    kw = dict(steps=["view", "signup", "purchase"], window="1d", date_from="2020-06-10", date_to="2020-06-12")
    ordered = funnel(ch, funnel_events, order="ordered", **kw)
    assert _steps(ordered) == [(3, None, None), (2, 2100.0, 2100.0), (1, 6600.0, 6600.0)]
    assert [s["conversion_rate"] for s in ordered["steps"]] == [1.0, 2 / 3, 1 / 3]
    assert _steps(funnel(ch, funnel_events, order="strict", **kw)) == [(3, None, None), (1, 3600.0, 3600.0), (0, None, None)]
    assert _steps(funnel(ch, funnel_events, order="unordered", **kw)) == [
        (3, None, None), (3, 2600.0, 3600.0), (1, 6600.0, 6600.0)]
    # a 3-day window lets f2's purchase in
    wide = funnel(ch, funnel_events, **{**kw, "window": "3d"})
    assert wide["steps"][2]["count"] == 2


def test_funnel_bad_window(ch, funnel_events):
    with pytest.raises(InvalidParameter, match=r"^window: must look like 14d, 2h, 30m, 45s or 1w, not '14 days'$"):
        funnel(ch, funnel_events, steps=["view", "signup"], window="14 days")


def test_rfm(ch, project):
    a = ev("2020-06-30 00:00", "A", event="purchase", revenue="10")
    insert(ch, project, [a, a, ev("2020-06-29 00:00", "A", event="purchase", revenue="10"),
                         ev("2020-06-28 00:00", "A", event="purchase", revenue="10"),
                         ev("2020-06-25 00:00", "B", event="purchase", revenue="10"),
                         ev("2020-06-20 00:00", "B", event="purchase", revenue="10"),
                         ev("2020-06-20 00:00", "C", event="purchase", revenue="5"),
                         ev("2020-05-01 00:00", "D", event="purchase", revenue="100"),
                         ev("2020-04-01 00:00", "E", event="purchase", revenue="1"),
                         ev("2020-03-01 00:00", anon="e-anon", event="purchase", revenue="1"),
                         identify("2020-03-02 00:00", "E", "e-anon")])
    got = rfm(ch, project, as_of="2020-07-01")
    by = {p["person"]: (p["recency_days"], p["frequency"], p["monetary"], p["r"], p["f"], p["m"], p["segment"])
          for p in got["persons"]}
    assert by == {
        "A": (1, 3, 30.0, 5, 5, 4, "champions"),
        "B": (6, 2, 20.0, 4, 3, 3, "promising"),
        "C": (11, 1, 5.0, 3, 1, 2, "needs_attention"),
        "D": (61, 1, 100.0, 2, 1, 5, "hibernating"),
        "E": (91, 2, 2.0, 1, 3, 1, "at_risk"),
    }
    assert got["segments"]["champions"] == 1


def test_ltv(ch, project):
    insert(ch, project, [ev("2020-06-10 08:00", "l1"), ev("2020-06-10 09:00", "l1", event="purchase", revenue="10"),
                         ev("2020-06-12 09:00", "l1", event="purchase", revenue="5"),
                         ev("2020-06-10 08:00", "l2"),
                         ev("2020-06-11 09:00", "l3", event="purchase", revenue="4")])
    got = both(ltv, ch, project, period="day", date_from="2020-06-10", date_to="2020-06-12")
    assert [(c["size"], c["values"]) for c in got["cohorts"]] == [
        (2, [5.0, 5.0, 7.5]), (1, [4.0, 4.0, None]), (0, [0.0, None, None])]


def test_churn_risk(ch, project):
    insert(ch, project, [ev(f"2020-06-0{d} 10:00", "c1") for d in (1, 2, 3, 4)]
           + [ev(f"2020-06-{d:02d} 10:00", "c2") for d in (1, 8, 15)]
           + [ev(f"2020-05-{d:02d} 10:00", "c3") for d in range(1, 11)] + [ev("2020-06-19 10:00", "c3")])
    got = churn_risk(ch, project, as_of="2020-06-20")
    assert [(p["person"], p["days_since_active"], [r.split(":")[0] for r in p["reasons"]]) for p in got["persons"]] == [
        ("c1", 16, ["gap"]), ("c3", 1, ["declining"])]
    assert got["persons"][0]["last_active_day"] == "2020-06-04"
    assert got["persons"][0]["last_seen_at"] == "2020-06-04T10:00:00+00:00"
