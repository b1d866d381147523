"""Active users (DAU/WAU/MAU, DAU/MAU) and the stickiness histogram, from person_activity."""

from __future__ import annotations

from . import relations as rel
from .periods import Calendar, window as make_window


def _events(event):
    return None if event in (None, "", "$any", "any") else [event]


def active(client, project: str | None = None, *, event: str | None = None, date_from=None, date_to=None,
           intervals: int | None = None, tz: str = "UTC", source: str = "compact") -> dict:
    """For each local day of the range: distinct persons active in the trailing 1, 7 and 30 days
    ending on that day (the day included), and DAU/MAU (None when MAU is 0)."""
    cal = Calendar("day", tz)
    first, last = make_window(cal, date_to, date_from, intervals, default_intervals=30)
    project = rel.only_project(client, project)
    act = rel.activity(cal, project, _events(event), first - 29, last, source)
    sql = (f"SELECT d, uniqExactIf(person, d - p < 1), uniqExactIf(person, d - p < 7), uniqExact(person) "
           f"FROM (SELECT person, p, p + arrayJoin(range(30)) AS d FROM ({act})) "
           f"WHERE d BETWEEN {first} AND {last} GROUP BY d")
    rows = {r[0]: r[1:] for r in client.query(sql).result_rows}
    out = {"tz": tz, "days": [], "dau": [], "wau": [], "mau": [], "dau_mau": []}
    for d in range(first, last + 1):
        dau, wau, mau = rows.get(d, (0, 0, 0))
        out["days"].append(cal.start_of(d).date().isoformat())
        out["dau"].append(dau)
        out["wau"].append(wau)
        out["mau"].append(mau)
        out["dau_mau"].append(round(dau / mau, 6) if mau else None)
    return out


def stickiness(client, project: str | None = None, *, event: str | None = None, period: str = "day",
               date_from=None, date_to=None, intervals: int | None = None, tz: str = "UTC",
               week_start: str = "sunday", source: str = "compact") -> dict:
    """counts[k-1] = persons active in exactly k periods of the range (k = 1..number of periods)."""
    cal = Calendar(period, tz, week_start)
    first, last = make_window(cal, date_to, date_from, intervals, default_intervals=30 if period == "day" else 8)
    project = rel.only_project(client, project)
    act = rel.activity(cal, project, _events(event), first, last, source)
    sql = f"SELECT k, count() FROM (SELECT person, count() AS k FROM ({act}) GROUP BY person) GROUP BY k"
    counts = [0] * (last - first + 1)
    for k, n in client.query(sql).result_rows:
        counts[k - 1] = n
    return {"period": period, "tz": tz, "date_from": cal.label(first), "date_to": cal.label(last), "counts": counts}
