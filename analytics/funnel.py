"""Funnels: persons reaching each step in order within a conversion window (docs/analytics.md).

Funnels depend on the order of individual events, which the compact tables do not keep, so they read
`tenure.events` (pruned by its (project, day, event) key), deduplicated by message_id, with persons
resolved through identity_map. SQL returns each candidate person's event sequence as a bitmask of
the steps each event matches; the step walking happens here.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from datetime import timedelta, timezone

from . import relations as rel
from .errors import InvalidParameter
from .periods import Calendar, window as make_window, quote, ts_literal

_WINDOW = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_window(value) -> int:
    """'14d', '2h', '30m', '45s', '1w' or a number of seconds -> seconds."""
    if isinstance(value, (int, float)):
        seconds = int(value)
    else:
        match = _WINDOW.match(str(value).strip())
        if not match:
            raise InvalidParameter("window", f"must look like 14d, 2h, 30m, 45s or 1w, not {value!r}")
        seconds = int(match.group(1)) * _UNIT[match.group(2)]
    if seconds <= 0:
        raise InvalidParameter("window", "must be positive")
    return seconds


def _step(spec) -> tuple[str, dict]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping) and "event" in spec:
        return spec["event"], dict(spec.get("properties") or {})
    raise InvalidParameter("step", f"a step is an event name or {{'event': ..., 'properties': {{...}}}}, not {spec!r}")


def _walk(seq: list[tuple[int, int]], n: int, order: str, window_ms: int, lo: int, hi: int) -> list[int]:
    """Best chain of one person: step times (ms) of the steps reached, from the earliest entry that
    reaches the most steps. seq = [(ts_ms, mask)] in (timestamp, message_id) order."""
    best: list[int] = []
    for i, (t0, mask0) in enumerate(seq):
        if not lo <= t0 < hi:
            continue
        if order == "unordered":
            if not mask0:
                continue
            found: dict[int, tuple[int, int]] = {}
            for j in range(i, len(seq)):
                t, mask = seq[j]
                if t - t0 > window_ms:
                    break
                for k in range(n):
                    if mask >> k & 1 and k not in found:
                        found[k] = (t, j)
            chain = [t for t, _ in sorted(found.values())]
        else:
            if not mask0 & 1:
                continue
            chain = [t0]
            if order == "ordered":
                j = i + 1
                while len(chain) < n and j < len(seq):
                    t, mask = seq[j]
                    if t - t0 > window_ms:
                        break
                    if mask >> len(chain) & 1:
                        chain.append(t)
                    j += 1
            else:  # strict: the very next events of the person
                j = i + 1
                while len(chain) < n and j < len(seq):
                    t, mask = seq[j]
                    if t - t0 > window_ms or not mask >> len(chain) & 1:
                        break
                    chain.append(t)
                    j += 1
        if len(chain) > len(best):
            best = chain
            if len(best) == n:
                break
    return best


def funnel(client, project: str | None = None, *, steps: Sequence, order: str = "ordered", window="14d",
           date_from=None, date_to=None, intervals: int | None = None, tz: str = "UTC") -> dict:
    """Per step: persons reaching it, conversion rate from step 1, and the average and median
    seconds from the previous step. The funnel is entered by a step-1 event inside the date range
    (any step's event for `unordered`); later steps may fall after date_to, within the window."""
    if order not in ("ordered", "strict", "unordered"):
        raise InvalidParameter("order", f"must be ordered, strict or unordered, not {order!r}")
    parsed = [_step(s) for s in steps]
    if len(parsed) < 2:
        raise InvalidParameter("step", "a funnel needs at least two steps")
    window_s = parse_window(window)
    cal = Calendar("day", tz)
    first, last = make_window(cal, date_to, date_from, intervals, default_intervals=30)
    project = rel.only_project(client, project)
    lo, hi = cal.utc_bounds(first, last)
    end = hi + timedelta(seconds=window_s)
    names = sorted({name for name, _ in parsed})
    mask = " + ".join(
        f"bitShiftLeft(toUInt64(e.event = {quote(name)}{rel._filters_sql(props)}), {k})"
        for k, (name, props) in enumerate(parsed)
    )
    only_steps = "" if order == "strict" else f" AND e.event IN ({', '.join(quote(x) for x in names)})"
    entry_mask = "x.3 != 0" if order == "unordered" else "bitAnd(x.3, 1) = 1"
    sql = f"""
        SELECT person, arraySort(x -> (x.1, x.2), groupArray((ms, message_id, mask))) AS seq
        FROM (
            SELECT {rel.raw_person()} AS person, e.message_id AS message_id,
                   toUnixTimestamp64Milli(min(e.timestamp)) AS ms, max({mask}) AS mask
            FROM tenure.events AS e LEFT JOIN {rel.idmap_sql(project)} AS m ON cityHash64(e.anonymous_id) = m.k
            WHERE e.project = {quote(project)} AND e.type IN {rel.ACTIVITY_TYPES}
              AND (e.user_id != '' OR e.anonymous_id != '')
              AND e.timestamp >= {ts_literal(lo)} AND e.timestamp <= {ts_literal(end)}{only_steps}
            GROUP BY person, message_id
        )
        GROUP BY person
        HAVING arrayExists(x -> x.1 >= {_ms(lo)} AND x.1 < {_ms(hi)} AND {entry_mask}, seq)
    """
    n = len(parsed)
    reached = [0] * n
    gaps: list[list[float]] = [[] for _ in range(n)]
    for _person, seq in client.query(sql).result_rows:
        chain = _walk([(t, m) for t, _mid, m in seq], n, order, window_s * 1000, _ms(lo), _ms(hi))
        for k in range(len(chain)):
            reached[k] += 1
            if k:
                gaps[k].append((chain[k] - chain[k - 1]) / 1000)
    out = []
    for k, (name, props) in enumerate(parsed):
        out.append({
            "event": name,
            **({"properties": props} if props else {}),
            "count": reached[k],
            "conversion_rate": (reached[k] / reached[0]) if reached[0] else 0.0,
            "avg_time_s": (sum(gaps[k]) / len(gaps[k])) if gaps[k] else None,
            "median_time_s": statistics.median(gaps[k]) if gaps[k] else None,
        })
    return {"order": order, "window_s": window_s, "tz": tz, "date_from": cal.label(first),
            "date_to": cal.label(last), "steps": out}


def _ms(naive_utc) -> int:
    return int(naive_utc.replace(tzinfo=timezone.utc).timestamp() * 1000)
