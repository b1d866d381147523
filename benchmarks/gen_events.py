"""Generate N synthetic events straight into a chDB store (INSERT ... SELECT FROM numbers(), in chunks),
through the real `tenure.events` table, so the analytics materialized views fire as they do for the
collector's inserts.

Shape (about 100 events per person, 90 days ending 2024-03-31):
- person p of event n: cityHash64(n) % persons; each person starts on a random day of the 90 and
  stays a random number of days, events skewed towards the start (u^2), so person-days are ~30% of
  events / 100 per person like a real product;
- every fifth person sends their events before mid-life under an anonymous id and is then joined by
  an `identify` (one per such person, timestamped at mid-life) - exercising the identity join;
- events: page 40%, click 35%, view 15%, login 8%, purchase 2% (with revenue).

    python benchmarks/gen_events.py --events 1000000 --path /tmp/tenure-bench-1m
"""

from __future__ import annotations

import argparse
import time

PROJECT = "bench"
START = "2024-01-02 00:00:00"   # 90 days: 2024-01-02 .. 2024-03-31
DAYS = 90
CHUNK = 1_000_000

_EVENTS_SQL = """
INSERT INTO tenure.events (project, message_id, type, event, sent_event, user_id, anonymous_id, timestamp,
                           received_at, properties, revenue, currency, order_id)
SELECT
    '{project}' AS project,
    concat('e', toString(number)) AS message_id,
    if(kind = 'page', 'page', 'track') AS type,
    kind AS event,
    kind AS sent_event,
    if(p % 5 = 0 AND day < start_day + intDiv(life, 2), '', concat('user-', toString(p))) AS user_id,
    if(p % 5 = 0, concat('anon-', toString(p)), '') AS anonymous_id,
    toDateTime64(toDateTime('{start}', 'UTC') + day * 86400 + cityHash64(number, 5) % 86400, 3, 'UTC') AS timestamp,
    timestamp AS received_at,
    '{{}}' AS properties,
    if(kind = 'purchase', toDecimal64((cityHash64(number, 6) % 10000) / 100, 4), NULL) AS revenue,
    if(kind = 'purchase', 'USD', '') AS currency,
    if(kind = 'purchase', concat('o', toString(number)), '') AS order_id
FROM (
    SELECT
        number,
        cityHash64(number) % {persons} AS p,
        cityHash64(p, 1) % {days} AS start_day,
        1 + cityHash64(p, 2) % ({days} - start_day) AS life,
        start_day + toUInt32(floor(life * pow((cityHash64(number, 3) % 1000000) / 1000000, 2))) AS day,
        multiIf(cityHash64(number, 4) % 100 < 40, 'page', cityHash64(number, 4) % 100 < 75, 'click',
                cityHash64(number, 4) % 100 < 90, 'view', cityHash64(number, 4) % 100 < 98, 'login', 'purchase') AS kind
    FROM numbers({offset}, {count})
)
"""

_IDENTIFY_SQL = """
INSERT INTO tenure.events (project, message_id, type, event, sent_event, user_id, anonymous_id, timestamp, received_at)
SELECT '{project}', concat('id', toString(p)), 'identify', '', '', concat('user-', toString(p)), concat('anon-', toString(p)),
       toDateTime64(toDateTime('{start}', 'UTC') + (start_day + intDiv(life, 2)) * 86400, 3, 'UTC') AS ts, ts
FROM (
    SELECT number * 5 AS p, cityHash64(p, 1) % {days} AS start_day, 1 + cityHash64(p, 2) % ({days} - start_day) AS life
    FROM numbers(intDiv({persons}, 5))
)
"""


def generate(client, events: int, project: str = PROJECT) -> float:
    """Insert `events` events (+ identifies); returns seconds taken."""
    persons = max(events // 100, 10)
    t0 = time.perf_counter()
    for offset in range(0, events, CHUNK):
        client.command(_EVENTS_SQL.format(project=project, start=START, persons=persons, days=DAYS,
                                          offset=offset, count=min(CHUNK, events - offset)))
    client.command(_IDENTIFY_SQL.format(project=project, start=START, persons=persons, days=DAYS))
    return time.perf_counter() - t0


def main() -> None:
    import clickhouse_connect

    from tenure.schema.migrate import apply_migrations

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--path", required=True, help="chDB data directory (created)")
    args = parser.parse_args()
    client = clickhouse_connect.get_client(dsn=f"chdb://{args.path}")
    apply_migrations(client)
    seconds = generate(client, args.events)
    print(f"inserted {args.events:,} events in {seconds:.1f} s ({args.events / seconds:,.0f} events/s through the views)")


if __name__ == "__main__":
    main()
