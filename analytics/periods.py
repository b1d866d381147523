"""Calendar periods in a time zone: the window of a query, period indexes and their labels.

A period is named by an integer index that SQL and Python compute the same way, so queries group and
subtract plain integers and only labels are built here:

| period | index                                                        |
|--------|--------------------------------------------------------------|
| hour   | floor(unix time of the local hour start / 3600)              |
| day    | days from 1970-01-01 to the local date                       |
| week   | floor(days from 1970-01-01 to the local week start / 7)      |
| month  | year * 12 + month - 1 of the local date                      |

Consecutive periods have consecutive indexes, so "k periods after the cohort" is `p - c`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidParameter

PERIODS = ("hour", "day", "week", "month")
_EPOCH = date(1970, 1, 1)


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameter("tz", f"unknown time zone {tz!r}") from None


def quote(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Calendar:
    period: str = "day"
    tz: str = "UTC"
    week_start: str = "sunday"

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise InvalidParameter("period", f"must be one of {', '.join(PERIODS)}, not {self.period!r}")
        if self.week_start not in ("sunday", "monday"):
            raise InvalidParameter("week_start", f"must be sunday or monday, not {self.week_start!r}")
        zone(self.tz)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    # ---- SQL ---------------------------------------------------------------------------------
    def sql_index(self, ts: str) -> str:
        """SQL for the period index of the instant `ts` (a DateTime/DateTime64 expression)."""
        tz = quote(self.tz)
        if self.period == "hour":
            return f"intDiv(toUnixTimestamp(toStartOfHour({ts}, {tz})), 3600)"
        if self.period == "day":
            return f"toRelativeDayNum({ts}, {tz})"
        if self.period == "week":
            return f"intDiv(toRelativeDayNum(toStartOfWeek({ts}, {self._mode}, {tz})), 7)"
        return f"(toYear({ts}, {tz}) * 12 + toMonth({ts}, {tz}) - 1)"

    def sql_start(self, ts: str) -> str:
        """SQL for the instant (DateTime) the period holding `ts` starts at."""
        tz = quote(self.tz)
        if self.period == "hour":
            return f"toStartOfHour({ts}, {tz})"
        if self.period == "day":
            return f"toStartOfDay({ts}, {tz})"
        if self.period == "week":
            return f"toDateTime(toStartOfWeek({ts}, {self._mode}, {tz}), {tz})"
        return f"toDateTime(toStartOfMonth({ts}, {tz}), {tz})"

    @property
    def _mode(self) -> int:
        return 0 if self.week_start == "sunday" else 1

    # ---- Python ------------------------------------------------------------------------------
    def index_of(self, moment: datetime) -> int:
        """Index of the period holding `moment` (aware, or naive meaning local time in tz)."""
        local = moment.replace(tzinfo=self.zone) if moment.tzinfo is None else moment.astimezone(self.zone)
        if self.period == "hour":
            start = local.replace(minute=0, second=0, microsecond=0)
            return int(start.timestamp()) // 3600
        day = local.date()
        if self.period == "day":
            return (day - _EPOCH).days
        if self.period == "week":
            back = (day.weekday() + 1) % 7 if self.week_start == "sunday" else day.weekday()
            return (day - timedelta(days=back) - _EPOCH).days // 7
        return day.year * 12 + day.month - 1

    def start_of(self, index: int) -> datetime:
        """The aware local datetime period `index` starts at."""
        z = self.zone
        if self.period == "hour":
            inside = datetime.fromtimestamp(index * 3600 + 3599, tz=timezone.utc).astimezone(z)
            return inside.replace(minute=0, second=0, microsecond=0)
        if self.period == "day":
            day = _EPOCH + timedelta(days=index)
        elif self.period == "week":
            rem = 3 if self.week_start == "sunday" else 4  # 1970-01-04 was a Sunday
            day = _EPOCH + timedelta(days=index * 7 + rem)
        else:
            day = date(index // 12, index % 12 + 1, 1)
        return datetime.combine(day, time(0), tzinfo=z)

    def label(self, index: int) -> str:
        return self.start_of(index).isoformat()

    def utc_bounds(self, first: int, last: int) -> tuple[datetime, datetime]:
        """[start, end) of periods first..last as naive UTC datetimes, for time-range pruning."""
        lo = self.start_of(first).astimezone(timezone.utc).replace(tzinfo=None)
        hi = self.start_of(last + 1).astimezone(timezone.utc).replace(tzinfo=None)
        return lo, hi


def parse_moment(value: str | date | datetime | None, name: str) -> datetime | None:
    """ISO-8601 date or date-time; naive values mean local time in the query's tz."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(0))
    try:
        text = str(value).strip().replace("Z", "+00:00")
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0))
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(name, f"not an ISO-8601 date or date-time: {value!r}") from None


def window(cal: Calendar, date_to=None, date_from=None, intervals: int | None = None,
           default_intervals: int = 8) -> tuple[int, int]:
    """(first, last) period index of the window: N periods ending with date_to's period, or
    date_from's period to date_to's. date_to defaults to now."""
    end = parse_moment(date_to, "date_to") or datetime.now(timezone.utc)
    last = cal.index_of(end)
    start = parse_moment(date_from, "date_from")
    if start is not None:
        first = cal.index_of(start)
        if first > last:
            raise InvalidParameter("date_from", "is after date_to")
    else:
        n = default_intervals if intervals is None else int(intervals)
        if n < 1:
            raise InvalidParameter("intervals", "must be at least 1")
        first = last - n + 1
    if last - first + 1 > 5000:
        raise InvalidParameter("date_from", "the window holds more than 5000 periods")
    return first, last


def ts_literal(moment: datetime) -> str:
    """A DateTime64(3, 'UTC') literal for a naive-UTC datetime."""
    return f"toDateTime64({quote(moment.strftime('%Y-%m-%d %H:%M:%S.%f')[:23])}, 3, 'UTC')"
