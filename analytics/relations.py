"""SQL for the relations every metric is built from, read from the compact tables or raw events.

- `activity`: distinct (person, p[, bd]) — the person did a matching event in period p.
- `first_seen`: (person, first_ts[, bd]) — the person's first-ever matching event, all history.
- `traits`: (person, bd) — a person trait (latest identify) or an experiment variant.

Persons are UInt64 keys: cityHash64(user_id) when the event has one, else the identity_map user of
the anonymous id, else cityHash64(anonymous_id). The mapping is applied at query time, so identify
and alias calls that arrive after the events still join them.

Two sources, one meaning (the tests compare them):
- `compact` reads tenure.person_activity / person_first_seen (002_analytics.sql): milliseconds.
- `raw` reads tenure.events: needed for property filters and event-property breakdowns, which the
  compact tables do not keep; also what the benchmark compares against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone

from .periods import Calendar, quote, ts_literal

ACTIVITY_TYPES = "('track', 'page', 'screen')"


def _filters_sql(filters: Mapping[str, str] | None, alias: str = "e") -> str:
    if not filters:
        return ""
    return "".join(f" AND toString({alias}.properties.`{_ident(k)}`) = {quote(v)}" for k, v in filters.items())


def _ident(name: str) -> str:
    """The inside of a backquoted identifier: backslash and backquote escaped, so no name can close it."""
    return str(name).replace("\\", "\\\\").replace("`", "\\`")


def idmap_sql(project: str) -> str:
    """anonymous key -> user key, from identify/alias (earliest join wins, see 001_core.sql)."""
    return (f"(SELECT cityHash64(anonymous_id) AS k, cityHash64(user_id) AS u "
            f"FROM tenure.identity_map WHERE project = {quote(project)})")


def _events_sql(events: Sequence[str] | None, column: str = "event") -> str:
    if events is None:
        return ""
    return f" AND {column} IN ({', '.join(quote(e) for e in events) or quote('')})"


def raw_person(alias: str = "e", m: str = "m") -> str:
    return (f"if({alias}.user_id != '', cityHash64({alias}.user_id), "
            f"if({m}.u != 0, {m}.u, cityHash64({alias}.anonymous_id)))")


def raw_events(project: str, events, filters, lo=None, hi=None, extra_cols: str = "", bd_prop=None) -> str:
    """Deduplicated activity events (one row per message_id) with their resolved person."""
    where = f"e.project = {quote(project)} AND e.type IN {ACTIVITY_TYPES} AND (e.user_id != '' OR e.anonymous_id != '')"
    if lo is not None:
        where += f" AND e.timestamp >= {ts_literal(lo)}"
    if hi is not None:
        where += f" AND e.timestamp < {ts_literal(hi)}"
    where += _events_sql(events, "e.event") + _filters_sql(filters)
    bd = f", toString(e.properties.`{_ident(bd_prop)}`) AS bd" if bd_prop else ""
    if bd_prop:
        where += " AND bd != ''"
    return (f"SELECT {raw_person()} AS person, e.message_id AS message_id, min(e.timestamp) AS ts{bd}{extra_cols} "
            f"FROM tenure.events AS e LEFT JOIN {idmap_sql(project)} AS m ON cityHash64(e.anonymous_id) = m.k "
            f"WHERE {where} GROUP BY person, message_id{', bd' if bd_prop else ''}")


def activity(cal: Calendar, project: str, events: Sequence[str] | None, first: int, last: int,
             source: str = "compact", filters: Mapping[str, str] | None = None,
             bd_prop: str | None = None) -> str:
    """Distinct (person, p[, bd]) with first <= p <= last."""
    lo, hi = cal.utc_bounds(first, last)
    if source == "raw" or filters or bd_prop:
        bd = ", bd" if bd_prop else ""
        inner = raw_events(project, events, filters, lo, hi, bd_prop=bd_prop)
        return (f"SELECT person, {cal.sql_index('ts')} AS p{bd} FROM ({inner}) "
                f"WHERE p BETWEEN {first} AND {last} GROUP BY person, p{bd}")
    # Which local period each quarter-hour of a UTC day falls in depends only on the day, so it is
    # worked out here once per day (Calendar.index_of, the same index the SQL computes) and passed as
    # constant arrays: a row then needs table lookups, not time-zone arithmetic.
    day_lo, day_hi = lo.date(), hi.date()
    days, nseg, pa, pb, ks, sidx, slotmaps = [], [], [], [], [], [], []
    d = day_lo
    while d <= day_hi:
        segs = _day_segments(cal, d)
        days.append((d - _EPOCH).days)
        nseg.append(min(len(segs), 3))
        pa.append(segs[0][1])
        pb.append(segs[1][1] if len(segs) > 1 else segs[0][1])
        ks.append(segs[1][0] if len(segs) > 1 else 96)
        if len(segs) > 2:
            slotmaps.append([p for i in range(96) for p in [max(pp for start, pp in segs if start <= i)]])
            sidx.append(len(slotmaps))
        else:
            sidx.append(0)
        d += timedelta(days=1)
    if not slotmaps:
        slotmaps.append([0] * 96)

    def arr(values) -> str:
        return f"CAST([{', '.join(map(str, values))}] AS Array(Int64))"

    dn = "toInt64(toUInt16(a.day))"
    look = lambda values: f"transform({dn}, {arr(days)}, {arr(values)}, toInt64(0))"   # noqa: E731
    maps = f"CAST([{', '.join(arr(m) for m in slotmaps)}] AS Array(Array(Int64)))"
    periods = (
        f"multiIf(nseg = 1, [pa], nseg = 2, arrayFilter((x, on) -> on, [pa, {look(pb)}], "
        f"[bitAnd(a.m, bitShiftLeft(toUInt128(1), ks) - 1) != 0, bitShiftRight(a.m, ks) != 0]), "
        f"arrayDistinct(arrayFilter((x, i) -> bitAnd(bitShiftRight(a.m, i), 1) = 1, "
        f"arrayElement({maps}, {look(sidx)}), range(96))))"
    )
    return (
        f"WITH {idmap_arrays(project)} AS idm "
        f"SELECT {compact_person('a', 'idm')} AS person, arrayJoin({periods}) AS p "
        # rows are expanded as stored (unmerged parts and other events included): the periods of an OR of
        # masks are the union of each mask's periods, and one GROUP BY at the end was measured ~25% faster
        f"FROM (SELECT person_key, anon, day, slots AS m, {look(nseg)} AS nseg, {look(pa)} AS pa, "
        f"{look(ks)} AS ks FROM tenure.person_activity AS a "
        f"WHERE project = {quote(project)} AND day BETWEEN {quote(day_lo.isoformat())} AND {quote(day_hi.isoformat())}"
        f"{_events_sql(events)}) AS a "
        f"WHERE p BETWEEN {first} AND {last} GROUP BY person, p"   # GROUP BY: measured faster than DISTINCT
    )


_EPOCH = date(1970, 1, 1)


def _day_segments(cal: Calendar, day: date) -> list[tuple[int, int]]:
    """[(first quarter-hour slot, period index)] of the local periods a UTC day overlaps, in order."""
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)

    def idx(slot: int) -> int:
        return cal.index_of(start + timedelta(minutes=15 * slot))

    segs = [(0, idx(0))]
    last = idx(95)
    slot = 0
    while segs[-1][1] != last:   # periods only grow through the day: binary-search each change
        lo, hi, cur = slot, 95, segs[-1][1]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if idx(mid) == cur:
                lo = mid
            else:
                hi = mid
        slot = hi
        segs.append((hi, idx(hi)))
    return segs


def idmap_arrays(project: str) -> str:
    """Scalar subquery: (anonymous keys, user keys) of the project's identity joins. `transform` over
    these constant arrays maps keys through one hash table, cheaper than a join per row (measured)."""
    return (f"(SELECT (groupArray(cityHash64(anonymous_id)), groupArray(cityHash64(user_id))) "
            f"FROM tenure.identity_map WHERE project = {quote(project)})")


def compact_person(alias: str, idm: str) -> str:
    return (f"if({alias}.anon, transform({alias}.person_key, {idm}.1, {idm}.2, {alias}.person_key), "
            f"{alias}.person_key)")


def first_seen(project: str, events: Sequence[str] | None, source: str = "compact",
               filters: Mapping[str, str] | None = None, bd_prop: str | None = None) -> str:
    """(person, first_ts[, bd]): first-ever matching event over all history."""
    if source == "raw" or filters or bd_prop:
        bd = ", bd" if bd_prop else ""
        return (f"SELECT person{bd}, min(ts) AS first_ts FROM ({raw_events(project, events, filters, bd_prop=bd_prop)}) "
                f"GROUP BY person{bd}")
    return (
        f"WITH {idmap_arrays(project)} AS idm "
        f"SELECT {compact_person('f', 'idm')} AS person, min(f.first_ts) AS first_ts "
        f"FROM (SELECT person_key, anon, min(first_ts) AS first_ts FROM tenure.person_first_seen "
        f"WHERE project = {quote(project)}{_events_sql(events)} GROUP BY person_key, anon) AS f "
        f"GROUP BY person"
    )


def person_names(project: str) -> str:
    """(person, name, last_ts): the id string shown for a person key (the user id once joined) and
    the time of the person's latest activity event."""
    return (
        f"SELECT if(f.anon AND m.u != 0, m.u, f.person_key) AS person, "
        f"any(if(f.anon AND m.u != 0, m.user_id, f.distinct_id)) AS name, max(f.last_ts) AS last_ts "
        f"FROM (SELECT person_key, anon, any(distinct_id) AS distinct_id, max(last_ts) AS last_ts FROM tenure.person_first_seen "
        f"WHERE project = {quote(project)} GROUP BY person_key, anon) AS f "
        f"LEFT JOIN (SELECT cityHash64(anonymous_id) AS k, cityHash64(user_id) AS u, user_id "
        f"FROM tenure.identity_map WHERE project = {quote(project)}) AS m ON f.person_key = m.k GROUP BY person"
    )


def traits(project: str, kind: str, name: str) -> str:
    """(person, bd): `person` = the trait from the person's latest identify that carries it;
    `experiment` = the property on the person's earliest activity event that carries it."""
    if kind == "person":
        return (
            f"SELECT {raw_person()} AS person, argMax(toString(e.traits.`{_ident(name)}`), e.timestamp) AS bd "
            f"FROM tenure.events AS e LEFT JOIN {idmap_sql(project)} AS m ON cityHash64(e.anonymous_id) = m.k "
            f"WHERE e.project = {quote(project)} AND e.type = 'identify' AND toString(e.traits.`{_ident(name)}`) != '' "
            f"GROUP BY person"
        )
    return (
        f"SELECT {raw_person()} AS person, argMin(toString(e.properties.`{_ident(name)}`), (e.timestamp, e.message_id)) AS bd "
        f"FROM tenure.events AS e LEFT JOIN {idmap_sql(project)} AS m ON cityHash64(e.anonymous_id) = m.k "
        f"WHERE e.project = {quote(project)} AND e.type IN {ACTIVITY_TYPES} AND toString(e.properties.`{_ident(name)}`) != '' "
        f"GROUP BY person"
    )


def only_project(client, project: str | None) -> str:
    """The project to query: the one given, or the only one stored."""
    from .errors import InvalidParameter

    if project:
        return project
    rows = client.query("SELECT DISTINCT project FROM tenure.person_first_seen LIMIT 2").result_rows
    if len(rows) == 1:
        return rows[0][0]
    if not rows:
        rows = client.query("SELECT DISTINCT project FROM tenure.events LIMIT 2").result_rows
        if len(rows) == 1:
            return rows[0][0]
    raise InvalidParameter("project", "required when the store holds more than one project" if rows else "no events stored yet")
