"""Retention: cohorts by start event, columns by return period (docs/analytics.md, "Retention").

The cohort table is computed at query time from the compact tables (a join of the first-seen or
activity relation with the activity relation), never stored: a late event or a late identity join
changes the next answer exactly as if it had arrived in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from . import relations as rel
from .errors import InvalidParameter
from .periods import Calendar, window as make_window, ts_literal

_ROLLING_SECONDS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}


def parse_breakdown(breakdown: str | None) -> tuple[str, str] | None:
    """'event.plan' -> ('event', 'plan'); also person.<trait> and experiment.<property>."""
    if not breakdown:
        return None
    kind, _, name = breakdown.partition(".")
    if kind not in ("event", "person", "experiment") or not name:
        raise InvalidParameter("breakdown", "must be event.<property>, person.<trait> or experiment.<property>")
    return kind, name


def _events(name: str | None) -> list[str] | None:
    return None if name in (None, "", "$any", "any") else [name]


def retention(client, project: str | None = None, *, start_event: str | None = None,
              return_event: str | None = None, retention_type: str = "first_time", period: str = "day",
              intervals: int | None = None, date_to=None, date_from=None, tz: str = "UTC",
              week_start: str = "sunday", cumulative: bool = False, window: str = "calendar",
              breakdown: str | None = None, start_filters: Mapping[str, str] | None = None,
              return_filters: Mapping[str, str] | None = None, source: str = "compact") -> dict:
    """The retention table. `values[k]` of a cohort is column k (values[0] = size); see the docs."""
    if retention_type not in ("first_time", "recurring"):
        raise InvalidParameter("retention_type", f"must be first_time or recurring, not {retention_type!r}")
    if window not in ("calendar", "rolling"):
        raise InvalidParameter("window", f"must be calendar or rolling, not {window!r}")
    if source not in ("compact", "raw"):
        raise InvalidParameter("source", "must be compact or raw")
    cal = Calendar(period, tz, week_start)
    first, last = make_window(cal, date_to, date_from, intervals, default_intervals=11 if period == "day" else 8)
    n = last - first + 1
    project = rel.only_project(client, project)
    bd = parse_breakdown(breakdown)
    bd_prop = bd[1] if bd and bd[0] == "event" else None
    start_ev, return_ev = _events(start_event), _events(return_event)
    rolling = window == "rolling"
    src = "raw" if rolling else source

    # cohort relation: (person, c[, st][, bd])
    if retention_type == "first_time":
        fs = rel.first_seen(project, start_ev, src, start_filters, bd_prop)
        cols = ", bd" if bd_prop else ""
        cohort = (f"SELECT person{cols}, {cal.sql_index('first_ts')} AS c, first_ts AS st FROM ({fs}) "
                  f"WHERE c BETWEEN {first} AND {last}")
    elif rolling:
        lo, hi = cal.utc_bounds(first, last)
        inner = rel.raw_events(project, start_ev, start_filters, lo, hi, bd_prop=bd_prop)
        cols = ", bd" if bd_prop else ""
        cohort = (f"SELECT person{cols}, {cal.sql_index('ts')} AS c, min(ts) AS st FROM ({inner}) "
                  f"GROUP BY person, c{cols}")
    else:
        act = rel.activity(cal, project, start_ev, first, last, src, start_filters, bd_prop)
        cohort = f"SELECT person, p AS c{', bd' if bd_prop else ''} FROM ({act})"
    if bd and not bd_prop:
        cohort = (f"SELECT co.person AS person, co.c AS c{', co.st AS st' if rolling else ''}, tr.bd AS bd "
                  f"FROM ({cohort}) AS co LEFT JOIN ({rel.traits(project, bd[0], bd[1])}) AS tr ON co.person = tr.person")

    # returns and the join
    join_on = "co.person = r.person" + (" AND co.bd = r.bd" if bd_prop else "")
    if rolling:
        lo, hi = cal.utc_bounds(first, last)
        ret = rel.raw_events(project, return_ev, return_filters, lo, hi, bd_prop=bd_prop)
        step = _ROLLING_SECONDS[period] * 1000
        k = f"intDiv(toUnixTimestamp64Milli(r.ts) - toUnixTimestamp64Milli(co.st), {step})"
        cond = f"r.ts > co.st AND r.ts < {ts_literal(hi)} AND {k} >= 1 AND co.c + {k} <= {last}"
    else:
        ret = rel.activity(cal, project, return_ev, first, last, source, return_filters, bd_prop)
        k = "r.p - co.c"
        cond = f"{k} >= 1"
    # One pass: every cohort person is kept (LEFT JOIN; with join_use_nulls=0 an unmatched return
    # has p = 0 / ts = 1970, which fails `cond`), so k = 0 rows give the cohort sizes.
    b_expr = "co.bd" if bd else "''"
    if cumulative:
        agg, explode = f"maxIf({k}, {cond})", "range(toUInt64(ks) + 1)"
    else:
        agg, explode = f"groupUniqArrayIf({k}, {cond})", "arrayConcat([toInt64(0)], ks)"
    sql = (f"SELECT b, c, k, count() FROM ("
           f"SELECT {b_expr} AS b, co.c AS c, co.person AS person, {agg} AS ks "
           f"FROM ({cohort}) AS co LEFT JOIN ({ret}) AS r ON {join_on} GROUP BY b, c, person"
           f") ARRAY JOIN {explode} AS k GROUP BY b, c, k")
    cells = client.query(sql, settings={"join_use_nulls": 0}).result_rows

    table: dict[str, dict[int, list[int]]] = defaultdict(lambda: {c: [0] * n for c in range(first, last + 1)})
    for b, c, kk, count in cells:
        if 0 <= kk < n and c + kk <= last:
            table[b][c][kk] = count
    if not table:
        table[""]  # an empty answer (also with a breakdown) still lists every cohort period
    cohorts = []
    for b in sorted(table):
        for c in range(first, last + 1):
            cohorts.append({"cohort": cal.label(c), "breakdown": (b or None) if bd else None,
                            "size": table[b][c][0], "values": table[b][c]})
    return {"period": period, "tz": tz, "retention_type": retention_type, "cumulative": bool(cumulative),
            "window": window, "intervals": n, "cohorts": cohorts,
            "summary": _summary(cohorts, n) if period == "day" and not bd else None}


def _summary(cohorts: list[dict], n: int) -> dict:
    """D1/D7/D30: column d summed over the cohorts old enough for column d to be in the window,
    divided by those cohorts' sizes (None when no cohort is old enough or they are empty)."""
    out = {}
    for d in (1, 7, 30):
        eligible = [c for i, c in enumerate(cohorts) if i + d < n]
        size = sum(c["size"] for c in eligible)
        kept = sum(c["values"][d] for c in eligible)
        out[f"d{d}"] = {"retained": kept, "cohort_size": size, "rate": (kept / size) if size else None}
    return out


def summary(client, project: str | None = None, *, date_to=None, tz: str = "UTC", **kwargs) -> dict:
    """Classic D1/D7/D30 over the 31 day cohorts ending at date_to (see `_summary`)."""
    return retention(client, project, period="day", intervals=31, date_to=date_to, tz=tz, **kwargs)["summary"]
