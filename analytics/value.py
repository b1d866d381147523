"""Value metrics: RFM segments, LTV per cohort, churn-risk list (docs/analytics.md, "Value").

RFM and LTV read tenure.purchases (one row per purchase messageId, so revenue is never doubled);
churn risk reads person_activity. Persons are resolved through identity_map at query time.
"""

from __future__ import annotations

import bisect
import statistics
from datetime import datetime, timezone
from decimal import Decimal

from . import relations as rel
from .errors import InvalidParameter
from .periods import Calendar, parse_moment, quote, ts_literal, window as make_window

#: First matching rule wins; r, f, m are quintile scores 1..5 (5 = most recent / most / highest).
SEGMENTS: tuple[tuple[str, str, object], ...] = (
    ("champions", "r >= 4 and f >= 4", lambda r, f, m: r >= 4 and f >= 4),
    ("loyal", "r >= 3 and f >= 4", lambda r, f, m: r >= 3 and f >= 4),
    ("new", "r >= 4 and f == 1", lambda r, f, m: r >= 4 and f == 1),
    ("promising", "r >= 4", lambda r, f, m: r >= 4),
    ("potential_loyalist", "r == 3 and f >= 2", lambda r, f, m: r == 3 and f >= 2),
    ("needs_attention", "r == 3", lambda r, f, m: r == 3),
    ("at_risk", "r <= 2 and f >= 3", lambda r, f, m: r <= 2 and f >= 3),
    ("hibernating", "r == 2", lambda r, f, m: r == 2),
    ("lost", "r == 1", lambda r, f, m: r == 1),
)


def segment(r: int, f: int, m: int) -> str:
    for name, _rule, test in SEGMENTS:
        if test(r, f, m):
            return name
    return "other"


def quintile_scores(values: list, higher_is_better: bool = True) -> list[int]:
    """Score 1..5: 1 + floor(5 * (persons strictly worse) / persons). Ties share a score."""
    n = len(values)
    ordered = sorted(values)

    out = []
    for v in values:
        worse = bisect.bisect_left(ordered, v) if higher_is_better else n - bisect.bisect_right(ordered, v)
        out.append(1 + (5 * worse) // n)
    return out


def _as_of(as_of) -> datetime:
    moment = parse_moment(as_of, "as_of")
    if moment is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _purchases(project: str, upto: datetime) -> str:
    """(person, message_id, ts, revenue) — one row per purchase message."""
    return (
        f"SELECT if(p.anon AND m.u != 0, m.u, p.person_key) AS person, p.message_id AS message_id, p.ts AS ts, p.revenue AS revenue "
        f"FROM (SELECT person_key, anon, message_id, min(ts) AS ts, max(revenue) AS revenue FROM tenure.purchases "
        f"WHERE project = {quote(project)} GROUP BY person_key, anon, message_id HAVING ts < {ts_literal(upto)}) AS p "
        f"LEFT JOIN {rel.idmap_sql(project)} AS m ON p.person_key = m.k"
    )


def rfm(client, project: str | None = None, *, as_of=None, limit: int | None = None) -> dict:
    """Per purchaser: recency (whole days from the last purchase to as_of), frequency (purchases),
    monetary (total revenue), quintile scores and segment; plus segment counts."""
    project = rel.only_project(client, project)
    upto = _as_of(as_of)
    sql = (f"SELECT q.person, n.name, max(q.ts), count(), sum(q.revenue) FROM ({_purchases(project, upto)}) AS q "
           f"LEFT JOIN ({rel.person_names(project)}) AS n ON q.person = n.person GROUP BY q.person, n.name")
    rows = client.query(sql).result_rows
    recency = [int((upto - last).total_seconds() // 86400) for _, _, last, _, _ in rows]
    freq = [r[3] for r in rows]
    money = [Decimal(r[4]) for r in rows]
    rs = quintile_scores(recency, higher_is_better=False)
    fs = quintile_scores(freq)
    ms = quintile_scores(money)
    persons = []
    for i, (_key, name, last, _n, _rev) in enumerate(rows):
        persons.append({"person": name, "recency_days": recency[i], "frequency": freq[i],
                        "monetary": float(money[i]), "last_purchase": last.replace(tzinfo=timezone.utc).isoformat(),
                        "r": rs[i], "f": fs[i], "m": ms[i], "segment": segment(rs[i], fs[i], ms[i])})
    persons.sort(key=lambda p: (-p["r"] - p["f"] - p["m"], p["person"]))
    counts: dict[str, int] = {name: 0 for name, _, _ in SEGMENTS}
    for p in persons:
        counts[p["segment"]] = counts.get(p["segment"], 0) + 1
    return {"as_of": upto.replace(tzinfo=timezone.utc).isoformat(), "segments": counts,
            "persons": persons[:limit] if limit else persons}


def ltv(client, project: str | None = None, *, period: str = "month", intervals: int | None = None,
        date_to=None, date_from=None, tz: str = "UTC", week_start: str = "sunday",
        anchor: str = "first_event", source: str = "compact") -> dict:
    """Per cohort (period of the person's first event, or first `register`): values[k] = total
    revenue of the cohort's persons up to the end of cohort period k, divided by the cohort size.
    Cells past the window are None."""
    if anchor not in ("first_event", "register"):
        raise InvalidParameter("anchor", "must be first_event or register")
    cal = Calendar(period, tz, week_start)
    first, last = make_window(cal, date_to, date_from, intervals, default_intervals=6 if period == "month" else 8)
    n = last - first + 1
    project = rel.only_project(client, project)
    _, hi = cal.utc_bounds(first, last)
    fs = rel.first_seen(project, ["register"] if anchor == "register" else None, source)
    cohort = f"SELECT person, {cal.sql_index('first_ts')} AS c FROM ({fs}) WHERE c BETWEEN {first} AND {last}"
    sizes = dict(client.query(f"SELECT c, count() FROM ({cohort}) GROUP BY c").result_rows)
    sql = (f"SELECT co.c, {cal.sql_index('q.ts')} - co.c AS k, sum(q.revenue) FROM ({cohort}) AS co "
           f"INNER JOIN ({_purchases(project, hi)}) AS q ON co.person = q.person GROUP BY co.c, k")
    revenue: dict[tuple[int, int], Decimal] = {}
    for c, k, total in client.query(sql).result_rows:
        key = (c, max(k, 0))  # purchases before the anchor (register) count at age 0
        revenue[key] = revenue.get(key, Decimal(0)) + Decimal(total)
    cohorts = []
    for c in range(first, last + 1):
        size = sizes.get(c, 0)
        values, running = [], Decimal(0)
        for k in range(n):
            if c + k > last:
                values.append(None)
                continue
            running += revenue.get((c, k), Decimal(0))
            values.append(round(float(running / size), 4) if size else 0.0)
        cohorts.append({"cohort": cal.label(c), "size": size, "values": values})
    return {"period": period, "tz": tz, "anchor": anchor, "cohorts": cohorts}


def churn_risk(client, project: str | None = None, *, as_of=None, gap_factor: float = 3.0,
               min_active_days: int = 3, lookback_days: int = 28, limit: int | None = 100,
               source: str = "compact") -> dict:
    """Persons whose activity fell against their own history, with reasons (UTC days) and
    `last_seen_at`, the time of their latest event (which may be after as_of):
    - `gap`: days since the last active day > gap_factor x the median gap between their active days
      (needs min_active_days active days);
    - `declining`: active days in the last lookback_days are at most half those in the
      lookback_days before (which must be >= 4)."""
    project = rel.only_project(client, project)
    upto = _as_of(as_of)
    cal = Calendar("day", "UTC")
    today = cal.index_of(upto)
    hist_first = today - 365
    act = rel.activity(cal, project, None, hist_first, today, source)
    sql = (f"SELECT a.person, n.name, arraySort(groupArray(a.p)), any(n.last_ts) FROM ({act}) AS a "
           f"LEFT JOIN ({rel.person_names(project)}) AS n ON a.person = n.person GROUP BY a.person, n.name")
    found = []
    for _key, name, days, last_ts in client.query(sql).result_rows:
        reasons = []
        since = today - days[-1]
        if len(days) >= min_active_days:
            usual = statistics.median([b - a for a, b in zip(days, days[1:])])
            if since > gap_factor * usual:
                reasons.append(f"gap: no activity for {since} days, {gap_factor:g}x their usual {usual:g}-day gap")
        recent = sum(1 for d in days if today - lookback_days < d <= today)
        before = sum(1 for d in days if today - 2 * lookback_days < d <= today - lookback_days)
        if before >= 4 and recent * 2 <= before:
            reasons.append(f"declining: {recent} active days in the last {lookback_days} vs {before} before")
        if reasons:
            found.append({"person": name, "last_active_day": cal.start_of(days[-1]).date().isoformat(),
                          "last_seen_at": last_ts.replace(tzinfo=timezone.utc).isoformat(),
                          "days_since_active": since, "active_days": len(days), "reasons": reasons})
    found.sort(key=lambda p: (-p["days_since_active"], p["person"]))
    return {"as_of": upto.replace(tzinfo=timezone.utc).isoformat(), "persons": found[:limit] if limit else found}
