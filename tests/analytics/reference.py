"""Plain-Python reference for every metric, written from /work/shared/reference/metrics.md and the
choices documented in docs/analytics.md. Shares no code with tenure.analytics: it works on the
messages as sent (dicts), with zoneinfo calendar arithmetic, one person at a time.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

UTC = timezone.utc
ACTIVITY = ("track", "page", "screen")


# ---- events and persons ------------------------------------------------------------------------
def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


class Store:
    def __init__(self, messages: list[dict]) -> None:
        unique: dict[str, dict] = {}
        for m in messages:
            unique.setdefault(m["messageId"], m)
        self.messages = list(unique.values())
        joins: dict[str, tuple[datetime, str]] = {}
        for m in self.messages:
            if m["type"] in ("identify", "alias") and m.get("userId"):
                anon = m.get("previousId") if m["type"] == "alias" else m.get("anonymousId")
                if anon and anon != m["userId"]:
                    t = parse(m["timestamp"])
                    if anon not in joins or t < joins[anon][0]:
                        joins[anon] = (t, m["userId"])
        self.joins = {a: u for a, (t, u) in joins.items()}
        self.events = []   # (person, name, ts, message) for activity events
        for m in self.messages:
            if m["type"] not in ACTIVITY:
                continue
            person = m.get("userId") or self.joins.get(m.get("anonymousId"), m.get("anonymousId"))
            name = m["event"] if m["type"] == "track" else m["type"]
            self.events.append((person, name, parse(m["timestamp"]), m))

    def of(self, names=None):
        return [e for e in self.events if names is None or e[1] in names]


# ---- calendar ----------------------------------------------------------------------------------
class Cal:
    def __init__(self, period: str, tz: str, week_start: str = "sunday") -> None:
        self.period, self.z, self.week_start = period, ZoneInfo(tz), week_start

    def start(self, t: datetime) -> datetime:
        local = t.astimezone(self.z)
        if self.period == "hour":
            return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        d = local.date()
        if self.period == "week":
            d -= timedelta(days=d.isoweekday() % 7 if self.week_start == "sunday" else d.isoweekday() - 1)
        elif self.period == "month":
            d = d.replace(day=1)
        return datetime(d.year, d.month, d.day, tzinfo=self.z).astimezone(UTC)

    def local_moment(self, text: str) -> datetime:
        if len(text) == 10:
            text += "T00:00:00"
        return datetime.fromisoformat(text).replace(tzinfo=self.z).astimezone(UTC)

    def window(self, date_to: str, n: int) -> list[datetime]:
        """The n period starts (UTC instants) ending with date_to's period."""
        out = [self.start(self.local_moment(date_to))]
        while len(out) < n:
            out.insert(0, self.start(out[0] - timedelta(seconds=1)))
        return out

    def end(self, start: datetime) -> datetime:
        """Start of the following period."""
        t = start
        step = timedelta(minutes=30)
        while self.start(t) == start:
            t += step
        return self.start(t)

    def label(self, start: datetime) -> str:
        return start.astimezone(self.z).isoformat()


# ---- metrics -----------------------------------------------------------------------------------
ROLLING = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}


def retention(store: Store, *, period="day", tz="UTC", week_start="sunday", date_to, intervals,
              start_event=None, return_event=None, retention_type="first_time", cumulative=False,
              window="calendar") -> list[tuple[str, list[int]]]:
    cal = Cal(period, tz, week_start)
    periods = cal.window(date_to, intervals)
    index = {p: i for i, p in enumerate(periods)}
    window_end = cal.end(periods[-1])
    starts = defaultdict(list)
    for person, _n, t, _m in store.of(None if start_event is None else {start_event}):
        starts[person].append(t)
    returns = defaultdict(list)
    for person, _n, t, _m in store.of(None if return_event is None else {return_event}):
        returns[person].append(t)
    table = [[0] * intervals for _ in periods]
    for person, times in starts.items():
        if retention_type == "first_time":
            cohorts = {}
            first = min(times)
            if cal.start(first) in index:
                cohorts[index[cal.start(first)]] = first
        else:
            cohorts = {}
            for t in sorted(times):
                if cal.start(t) in index:
                    cohorts.setdefault(index[cal.start(t)], t)
        for c, st in cohorts.items():
            table[c][0] += 1
            ks = set()
            for r in returns.get(person, []):
                if window == "rolling":
                    if st < r < window_end:
                        k = int((r - st).total_seconds() // ROLLING[period])
                        if k >= 1 and c + k < len(periods):
                            ks.add(k)
                else:
                    p = cal.start(r)
                    if p in index and index[p] > c:
                        ks.add(index[p] - c)
            if cumulative and ks:
                ks = set(range(1, max(ks) + 1))
            for k in ks:
                table[c][k] += 1
    return [(cal.label(p), table[i]) for i, p in enumerate(periods)]


def lifecycle(store: Store, *, period="day", tz="UTC", date_from, date_to, event=None, new_anchor="first_event"):
    cal = Cal(period, tz)
    periods = [cal.start(cal.local_moment(date_from))]
    last = cal.start(cal.local_moment(date_to))
    while periods[-1] < last:
        periods.append(cal.end(periods[-1]))
    before = cal.start(periods[0] - timedelta(seconds=1))
    active = defaultdict(set)
    for person, _n, t, _m in store.of(None if event is None else {event}):
        active[person].add(cal.start(t))
    anchor = {}
    for person, _n, t, _m in store.of(None if new_anchor == "first_event" else {"register"}):
        if person not in anchor or t < anchor[person]:
            anchor[person] = t
    out = {"periods": [cal.label(p) for p in periods], "new": [], "returning": [], "resurrecting": [], "dormant": []}
    prev = before
    for p in periods:
        new = ret = res = dor = 0
        for person, ps in active.items():
            if p in ps:
                if person in anchor and cal.start(anchor[person]) == p:
                    new += 1
                elif prev in ps:
                    ret += 1
                else:
                    res += 1
            elif prev in ps:
                dor += 1
        for key, v in (("new", new), ("returning", ret), ("resurrecting", res), ("dormant", -dor)):
            out[key].append(v)
        prev = p
    return out


def active(store: Store, *, tz="UTC", date_from, date_to):
    z = ZoneInfo(tz)
    days_of = defaultdict(set)
    for person, _n, t, _m in store.events:
        days_of[person].add(t.astimezone(z).date())
    d, end = date.fromisoformat(date_from), date.fromisoformat(date_to)
    out = {"days": [], "dau": [], "wau": [], "mau": []}
    while d <= end:
        out["days"].append(d.isoformat())
        for key, span in (("dau", 1), ("wau", 7), ("mau", 30)):
            out[key].append(sum(1 for ds in days_of.values() if any(0 <= (d - x).days < span for x in ds)))
        d += timedelta(days=1)
    return out


def stickiness(store: Store, *, period="day", tz="UTC", week_start="sunday", date_from, date_to, event=None):
    cal = Cal(period, tz, week_start)
    periods = [cal.start(cal.local_moment(date_from))]
    last = cal.start(cal.local_moment(date_to))
    while periods[-1] < last:
        periods.append(cal.end(periods[-1]))
    inside = set(periods)
    per_person = defaultdict(set)
    for person, _n, t, _m in store.of(None if event is None else {event}):
        if cal.start(t) in inside:
            per_person[person].add(cal.start(t))
    counts = [0] * len(periods)
    for ps in per_person.values():
        counts[len(ps) - 1] += 1
    return counts


def funnel(store: Store, *, steps, order, window_s, tz="UTC", date_from, date_to):
    z = ZoneInfo(tz)
    lo = datetime.fromisoformat(date_from).replace(tzinfo=z)
    hi = datetime.fromisoformat(date_to).replace(tzinfo=z) + timedelta(days=1)
    lo = datetime(lo.year, lo.month, lo.day, tzinfo=z)
    win = timedelta(seconds=window_s)
    seqs = defaultdict(list)
    for person, name, t, m in store.events:
        seqs[person].append((t, m["messageId"], name))
    n = len(steps)
    reached = [0] * n
    gaps = [[] for _ in range(n)]
    for person, seq in seqs.items():
        seq.sort(key=lambda x: (x[0], x[1]))
        best = []
        for i, (t0, _mid, name0) in enumerate(seq):
            if not lo <= t0 < hi:
                continue
            if order == "unordered":
                if name0 not in steps:
                    continue
                first_hit = {}
                for j in range(i, len(seq)):
                    t, _x, name = seq[j]
                    if t - t0 > win:
                        break
                    for k, s in enumerate(steps):
                        if s == name and k not in first_hit:
                            first_hit[k] = (t, j)
                chain = [t for t, _j in sorted(first_hit.values())]
            else:
                if name0 != steps[0]:
                    continue
                chain = [t0]
                j = i + 1
                while len(chain) < n and j < len(seq):
                    t, _x, name = seq[j]
                    if t - t0 > win:
                        break
                    if name == steps[len(chain)]:
                        chain.append(t)
                    elif order == "strict":
                        break
                    j += 1
            if len(chain) > len(best):
                best = chain
        for k in range(len(best)):
            reached[k] += 1
            if k:
                gaps[k].append((best[k] - best[k - 1]).total_seconds())
    return [(reached[k], (sum(gaps[k]) / len(gaps[k])) if gaps[k] else None,
             statistics.median(gaps[k]) if gaps[k] else None) for k in range(n)]


def purchases(store: Store, before: datetime):
    return [(person, t, Decimal(str(m["properties"]["revenue"]))) for person, name, t, m in store.events
            if name == "purchase" and t < before]


def rfm(store: Store, *, as_of: datetime):
    per = defaultdict(list)
    for person, t, rev in purchases(store, as_of):
        per[person].append((t, rev))
    rows = {p: (int((as_of - max(t for t, _ in v)).total_seconds() // 86400), len(v), sum(r for _, r in v))
            for p, v in per.items()}
    n = len(rows)

    def score(value, values, higher_better):
        worse = sum(1 for x in values if (x < value if higher_better else x > value))
        return 1 + 5 * worse // n

    out = {}
    for p, (r, f, m) in rows.items():
        out[p] = (r, f, float(m), score(r, [v[0] for v in rows.values()], False),
                  score(f, [v[1] for v in rows.values()], True), score(m, [v[2] for v in rows.values()], True))
    return out


def ltv(store: Store, *, period, tz, date_to, intervals):
    cal = Cal(period, tz)
    periods = cal.window(date_to, intervals)
    first = {}
    for person, _n, t, _m in store.events:
        if person not in first or t < first[person]:
            first[person] = t
    window_end = cal.end(periods[-1])
    out = []
    for c, p in enumerate(periods):
        members = [x for x, t in first.items() if cal.start(t) == p]
        values = []
        for k in range(intervals):
            if c + k >= len(periods):
                values.append(None)
                continue
            upto = cal.end(periods[c + k])
            total = sum((rev for person, t, rev in purchases(store, window_end) if person in members and t < upto),
                        Decimal(0))
            values.append(round(float(total / len(members)), 4) if members else 0.0)
        out.append((cal.label(p), len(members), values))
    return out


def churn(store: Store, *, as_of: datetime, gap_factor=3.0, min_active_days=3, lookback=28):
    today = as_of.date()
    days_of = defaultdict(set)
    for person, _n, t, _m in store.events:
        d = t.date()
        if (today - d).days <= 365 and d <= today:
            days_of[person].add(d)
    out = {}
    for person, ds in days_of.items():
        days = sorted(ds)
        since = (today - days[-1]).days
        reasons = []
        if len(days) >= min_active_days:
            usual = statistics.median([(b - a).days for a, b in zip(days, days[1:])])
            if since > gap_factor * usual:
                reasons.append("gap")
        recent = sum(1 for d in days if 0 <= (today - d).days < lookback)
        before = sum(1 for d in days if lookback <= (today - d).days < 2 * lookback)
        if before >= 4 and recent * 2 <= before:
            reasons.append("declining")
        if reasons:
            out[person] = (since, reasons)
    return out
