"""Retention on small hand-made cases; every table below was worked out by hand from metrics.md.
Each case is checked on both sources (compact tables and raw events), which must agree."""

from __future__ import annotations

import pytest

from tenure.analytics import InvalidParameter, retention, retention_summary

from .conftest import alias, ev, identify, insert


def table(client, project, **kw):
    """{cohort label: values} from both sources, asserting they agree."""
    out = {}
    for source in ("compact", "raw"):
        answer = retention(client, project, source=source, **kw)
        got = {(c["cohort"], c["breakdown"]) if c["breakdown"] else c["cohort"]: c["values"] for c in answer["cohorts"]}
        for c in answer["cohorts"]:
            assert c["size"] == c["values"][0]
            assert len(c["values"]) == answer["intervals"]
        out[source] = got
    assert out["compact"] == out["raw"]
    return out["compact"]


def test_time_zones_east_and_west(ch, project):
    insert(ch, project, [
        ev("2020-06-10 23:30", "u1"), ev("2020-06-11 10:00", "u1"),
        ev("2020-06-11 03:00", "u2"), ev("2020-06-11 16:00", "u2"),
    ])
    kw = dict(date_to="2020-06-12", intervals=3)
    assert table(ch, project, **kw) == {
        "2020-06-10T00:00:00+00:00": [1, 1, 0],
        "2020-06-11T00:00:00+00:00": [1, 0, 0],
        "2020-06-12T00:00:00+00:00": [0, 0, 0],
    }
    assert table(ch, project, tz="Asia/Tokyo", **kw) == {
        "2020-06-10T00:00:00+09:00": [0, 0, 0],
        "2020-06-11T00:00:00+09:00": [2, 1, 0],
        "2020-06-12T00:00:00+09:00": [0, 0, 0],
    }
    assert table(ch, project, tz="America/Los_Angeles", **kw) == {
        "2020-06-10T00:00:00-07:00": [2, 2, 0],
        "2020-06-11T00:00:00-07:00": [0, 0, 0],
        "2020-06-12T00:00:00-07:00": [0, 0, 0],
    }


def test_half_hour_zone_days_and_hours(ch, project):
    # Kolkata is UTC+5:30: its midnight and its hours fall in the middle of UTC quarter-hour rows
    insert(ch, project, [
        ev("2020-06-10 18:20", "u4"), ev("2020-06-10 18:40", "u4"),   # 23:50 and 00:10 IST
        ev("2020-06-10 10:10", "u3"), ev("2020-06-10 10:40", "u3"),   # 15:40 and 16:10 IST
    ])
    assert table(ch, project, tz="Asia/Kolkata", date_to="2020-06-11", intervals=2) == {
        "2020-06-10T00:00:00+05:30": [2, 1],
        "2020-06-11T00:00:00+05:30": [0, 0],
    }
    assert table(ch, project, tz="Asia/Kolkata", period="hour", date_to="2020-06-10T16:00", intervals=2) == {
        "2020-06-10T15:00:00+05:30": [1, 1],
        "2020-06-10T16:00:00+05:30": [0, 0],
    }
    assert table(ch, project, period="hour", date_to="2020-06-10T11:00", intervals=2) == {
        "2020-06-10T10:00:00+00:00": [1, 0],
        "2020-06-10T11:00:00+00:00": [0, 0],
    }


def test_week_start(ch, project):
    insert(ch, project, [
        ev("2020-06-13 12:00", "u5"), ev("2020-06-14 12:00", "u5"),   # Sat, Sun
        ev("2020-06-14 13:00", "u6"), ev("2020-06-15 12:00", "u6"),   # Sun, Mon
    ])
    assert table(ch, project, period="week", date_to="2020-06-20", intervals=2) == {
        "2020-06-07T00:00:00+00:00": [1, 1],
        "2020-06-14T00:00:00+00:00": [1, 0],
    }
    assert table(ch, project, period="week", week_start="monday", date_to="2020-06-20", intervals=2) == {
        "2020-06-08T00:00:00+00:00": [2, 1],
        "2020-06-15T00:00:00+00:00": [0, 0],
    }


def test_month_boundaries_and_partial_last_period(ch, project):
    insert(ch, project, [
        ev("2020-01-31 16:00", "u7"), ev("2020-03-05 09:00", "u7"),   # Feb 1 01:00 JST
        ev("2020-01-31 14:00", "u8"), ev("2020-02-29 15:30", "u8"),   # Jan 31 23:00 JST, Mar 1 00:30 JST
    ])
    # date_to is mid-March: the whole of March is in the window (u7's March 5 counts)
    assert table(ch, project, period="month", tz="Asia/Tokyo", date_to="2020-03-02", intervals=3) == {
        "2020-01-01T00:00:00+09:00": [1, 0, 1],
        "2020-02-01T00:00:00+09:00": [1, 1, 0],
        "2020-03-01T00:00:00+09:00": [0, 0, 0],
    }
    assert table(ch, project, period="month", date_to="2020-03-02", intervals=3) == {
        "2020-01-01T00:00:00+00:00": [2, 1, 1],
        "2020-02-01T00:00:00+00:00": [0, 0, 0],
        "2020-03-01T00:00:00+00:00": [0, 0, 0],
    }
    # date_from instead of intervals
    assert list(table(ch, project, period="month", date_from="2020-02-10", date_to="2020-03-02")) == [
        "2020-02-01T00:00:00+00:00", "2020-03-01T00:00:00+00:00"]


def test_identity_join_after_the_events(ch, project):
    insert(ch, project, [ev("2020-06-10 10:00", anon="a10"), ev("2020-06-11 10:00", anon="a10"),
                         ev("2020-06-12 10:00", "u10")])
    kw = dict(date_to="2020-06-12", intervals=3)
    assert table(ch, project, **kw) == {
        "2020-06-10T00:00:00+00:00": [1, 1, 0],
        "2020-06-11T00:00:00+00:00": [0, 0, 0],
        "2020-06-12T00:00:00+00:00": [1, 0, 0],
    }
    insert(ch, project, [identify("2020-06-13 10:00", "u10", "a10")])   # arrives last
    assert table(ch, project, **kw) == {
        "2020-06-10T00:00:00+00:00": [1, 1, 1],
        "2020-06-11T00:00:00+00:00": [0, 0, 0],
        "2020-06-12T00:00:00+00:00": [0, 0, 0],
    }


def test_alias_joins_previous_id(ch, project):
    insert(ch, project, [ev("2020-06-10 10:00", anon="a11"), ev("2020-06-11 10:00", "u11"),
                         alias("2020-06-11 11:00", "u11", "a11")])
    assert table(ch, project, date_to="2020-06-11", intervals=2) == {
        "2020-06-10T00:00:00+00:00": [1, 1],
        "2020-06-11T00:00:00+00:00": [0, 0],
    }


def test_late_event_moves_person_to_older_cohort_and_duplicates_count_once(ch, project):
    dup = ev("2020-06-12 09:00", "u9")
    insert(ch, project, [dup])
    insert(ch, project, [dup])   # the same message again (a retried insert)
    kw = dict(date_to="2020-06-12", intervals=3)
    assert table(ch, project, **kw)["2020-06-12T00:00:00+00:00"] == [1, 0, 0]
    insert(ch, project, [ev("2020-06-10 09:00", "u9")])   # late: older than what is stored
    assert table(ch, project, **kw) == {
        "2020-06-10T00:00:00+00:00": [1, 0, 1],
        "2020-06-11T00:00:00+00:00": [0, 0, 0],
        "2020-06-12T00:00:00+00:00": [0, 0, 0],
    }


def test_recurring_and_first_time(ch, project):
    insert(ch, project, [ev("2020-06-10 10:00", "u14"), ev("2020-06-11 10:00", "u14"),
                         ev("2020-06-11 10:00", "u15"), ev("2020-06-12 10:00", "u15")])
    kw = dict(date_to="2020-06-12", intervals=3)
    assert table(ch, project, retention_type="recurring", **kw) == {
        "2020-06-10T00:00:00+00:00": [1, 1, 0],
        "2020-06-11T00:00:00+00:00": [2, 1, 0],
        "2020-06-12T00:00:00+00:00": [1, 0, 0],
    }
    assert table(ch, project, **kw) == {
        "2020-06-10T00:00:00+00:00": [1, 1, 0],
        "2020-06-11T00:00:00+00:00": [1, 1, 0],
        "2020-06-12T00:00:00+00:00": [0, 0, 0],
    }


def test_cumulative(ch, project):
    insert(ch, project, [ev("2020-06-10 10:00", "u16"), ev("2020-06-13 10:00", "u16")])
    kw = dict(date_to="2020-06-13", intervals=4)
    assert table(ch, project, **kw)["2020-06-10T00:00:00+00:00"] == [1, 0, 0, 1]
    assert table(ch, project, cumulative=True, **kw)["2020-06-10T00:00:00+00:00"] == [1, 1, 1, 1]


def test_start_and_return_events(ch, project):
    insert(ch, project, [ev("2020-06-10 10:00", "u17", event="register"), ev("2020-06-11 10:00", "u17", event="click"),
                         ev("2020-06-12 10:00", "u17", event="purchase", revenue="1"),
                         ev("2020-06-09 10:00", "u18", event="click"), ev("2020-06-11 10:00", "u18", event="register")])
    kw = dict(date_to="2020-06-12", intervals=3, start_event="register")
    assert table(ch, project, return_event="purchase", **kw) == {
        "2020-06-10T00:00:00+00:00": [1, 0, 1],
        "2020-06-11T00:00:00+00:00": [1, 0, 0],
        "2020-06-12T00:00:00+00:00": [0, 0, 0],
    }
    assert table(ch, project, **kw)["2020-06-10T00:00:00+00:00"] == [1, 1, 1]


def test_breakdowns(ch, project):
    insert(ch, project, [ev("2020-06-10 10:00", "u12", props={"plan": "pro"}),
                         ev("2020-06-11 10:00", "u12", props={"plan": "free"}),
                         ev("2020-06-12 10:00", "u12", props={"plan": "pro"}),
                         identify("2020-06-10 09:00", "u12", traits={"tier": "gold"})])
    kw = dict(date_to="2020-06-12", intervals=3)
    assert table(ch, project, breakdown="event.plan", **kw) == {
        ("2020-06-10T00:00:00+00:00", "free"): [0, 0, 0],
        ("2020-06-11T00:00:00+00:00", "free"): [1, 0, 0],
        ("2020-06-12T00:00:00+00:00", "free"): [0, 0, 0],
        ("2020-06-10T00:00:00+00:00", "pro"): [1, 0, 1],
        ("2020-06-11T00:00:00+00:00", "pro"): [0, 0, 0],
        ("2020-06-12T00:00:00+00:00", "pro"): [0, 0, 0],
    }
    got = table(ch, project, breakdown="person.tier", **kw)
    assert got[("2020-06-10T00:00:00+00:00", "gold")] == [1, 1, 1]
    got = table(ch, project, breakdown="experiment.plan", **kw)
    assert got[("2020-06-10T00:00:00+00:00", "pro")] == [1, 1, 1]
    # property filters narrow start and return events
    assert table(ch, project, start_filters={"plan": "pro"}, return_filters={"plan": "pro"}, **kw)[
        "2020-06-10T00:00:00+00:00"] == [1, 0, 1]


def test_rolling_window(ch, project):
    insert(ch, project, [ev("2020-06-10 20:00", "u13"), ev("2020-06-11 19:00", "u13"), ev("2020-06-12 10:00", "u13")])
    kw = dict(date_to="2020-06-12", intervals=3)
    assert table(ch, project, **kw)["2020-06-10T00:00:00+00:00"] == [1, 1, 1]
    assert table(ch, project, window="rolling", **kw)["2020-06-10T00:00:00+00:00"] == [1, 1, 0]


def test_summary_d1_d7_d30(ch, project):
    insert(ch, project, [ev("2020-06-01 10:00", "u20"), ev("2020-06-02 10:00", "u20"), ev("2020-06-08 10:00", "u20"),
                         ev("2020-06-01 10:00", "u21")])
    got = retention_summary(ch, project, date_to="2020-07-01")
    assert got["d1"] == {"retained": 1, "cohort_size": 2, "rate": 0.5}
    assert got["d7"] == {"retained": 1, "cohort_size": 2, "rate": 0.5}
    assert got["d30"] == {"retained": 0, "cohort_size": 2, "rate": 0.0}


def test_bad_parameters_name_the_field(ch, project):
    insert(ch, project, [ev("2020-06-10 10:00", "u1")])
    with pytest.raises(InvalidParameter, match="^period: must be one of hour, day, week, month, not 'year'$"):
        retention(ch, project, period="year")
    with pytest.raises(InvalidParameter, match="^tz: unknown time zone 'Mars/Base'$"):
        retention(ch, project, tz="Mars/Base")
    with pytest.raises(InvalidParameter, match="^breakdown: "):
        retention(ch, project, breakdown="plan")


def test_hours_across_the_dst_fall_back(ch, project):
    # 2020-11-01 in Los Angeles: 01:00-02:00 happens twice (PDT, then PST); they are two hour periods
    insert(ch, project, [ev("2020-11-01 08:30", "u30"), ev("2020-11-01 09:30", "u30"), ev("2020-11-01 10:10", "u31")])
    assert table(ch, project, period="hour", tz="America/Los_Angeles", date_to="2020-11-01T02:00", intervals=3) == {
        "2020-11-01T01:00:00-07:00": [1, 1, 0],
        "2020-11-01T01:00:00-08:00": [0, 0, 0],
        "2020-11-01T02:00:00-08:00": [1, 0, 0],
    }
    # the 25-hour local day is one day period
    assert table(ch, project, tz="America/Los_Angeles", date_to="2020-11-01", intervals=1) == {
        "2020-11-01T00:00:00-07:00": [2]}
