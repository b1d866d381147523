"""Lifecycle: new / returning / resurrecting / dormant persons per period (docs/analytics.md).

Reads the activity relation for the window plus one period before it, and the person's anchor
(first-ever activity event, or first `register`) from person_first_seen; all at query time.
"""

from __future__ import annotations

from . import relations as rel
from .errors import InvalidParameter
from .periods import Calendar, window as make_window


def lifecycle(client, project: str | None = None, *, event: str | None = None, period: str = "day",
              date_from=None, date_to=None, intervals: int | None = None, tz: str = "UTC",
              week_start: str = "sunday", new_anchor: str = "first_event", source: str = "compact") -> dict:
    """One value per period from date_from to date_to (or `intervals` periods ending at date_to).

    new: active and the period holds the person's anchor (first-ever event, any event name, or first
    `register` with new_anchor="register"); returning: active now and in the previous period (and
    not new); resurrecting: active now, not in the previous period, not new; dormant: active in the
    previous period, not now, reported negative."""
    if new_anchor not in ("first_event", "register"):
        raise InvalidParameter("new_anchor", "must be first_event or register")
    cal = Calendar(period, tz, week_start)
    first, last = make_window(cal, date_to, date_from, intervals, default_intervals=8)
    project = rel.only_project(client, project)
    events = None if event in (None, "", "$any", "any") else [event]
    act = rel.activity(cal, project, events, first - 1, last, source)
    anchor = rel.first_seen(project, ["register"] if new_anchor == "register" else None, source)
    # one pass over the activity: per person the set of active periods, exploded into
    # (period, is_dormant_row) pairs: each active period in the window, and each period that follows
    # an active one without activity (a dormant row)
    sql = f"""
        SELECT p,
               countIf(NOT d AND is_new) AS new,
               countIf(NOT d AND NOT is_new AND prev) AS returning,
               countIf(NOT d AND NOT is_new AND NOT prev) AS resurrecting,
               countIf(d) AS dormant
        FROM (
            SELECT e.1 AS p, e.2 AS d, has(a.ps, e.1 - 1) AS prev, f.ok = 1 AND f.fp = e.1 AS is_new
            FROM (SELECT person, groupUniqArray(p) AS ps FROM ({act}) GROUP BY person) AS a
            LEFT JOIN (SELECT person, {cal.sql_index('first_ts')} AS fp, 1 AS ok FROM ({anchor})) AS f
                ON a.person = f.person
            ARRAY JOIN arrayConcat(
                arrayMap(x -> (x, 0), arrayFilter(x -> x >= {first}, a.ps)),
                arrayMap(x -> (x + 1, 1), arrayFilter(x -> x < {last} AND NOT has(a.ps, x + 1), a.ps))) AS e
        )
        GROUP BY p
    """
    rows = {r[0]: r[1:] for r in client.query(sql, settings={"join_use_nulls": 0}).result_rows}
    out = {"period": period, "tz": tz, "periods": [], "new": [], "returning": [], "resurrecting": [], "dormant": []}
    for p in range(first, last + 1):
        new, ret, res, dor = rows.get(p, (0, 0, 0, 0))
        out["periods"].append(cal.label(p))
        out["new"].append(new)
        out["returning"].append(ret)
        out["resurrecting"].append(res)
        out["dormant"].append(-dor)
    return out
