-- 002: compact analytics tables kept current by materialized views on tenure.events.
-- Design notes and the SQL cookbook: docs/analytics.md.
--
-- Every table here is keyed by the *raw* distinct id of an event (cityHash64 of user_id when set,
-- else of anonymous_id; `anon` says which), never by the resolved person: identify/alias joins can
-- arrive after the events, so queries map anonymous keys to their user through tenure.identity_map
-- at query time (a small hash join). That keeps the tables exact whatever order joins arrive in.
--
-- Every column is a set-like state (min, max, groupBitOr, any over equal values): a retried insert,
-- a replayed WAL segment or a duplicate messageId folds into the same value, so no FINAL is needed
-- and nothing can be counted twice. Aggregates are merged at query time with GROUP BY.
-- Only activity events (track, page, screen) feed these tables; identify/alias/group are identity.

-- person_first_seen: first and last time each distinct id did each event, all history.
-- Rows grow with distinct ids x distinct event names, not with events.
-- First-time retention cohorts, the lifecycle "new" anchor (first event or first register) and
-- LTV cohorts read min(first_ts) per resolved person from here; a late event lowers first_ts and
-- moves the person to the older cohort on the next query (cohorts are never stored).
-- ORDER BY (project, event, person_key, anon): queries name a project and usually one event.
CREATE TABLE IF NOT EXISTS tenure.person_first_seen
(
    project     LowCardinality(String),
    event       LowCardinality(String),
    person_key  UInt64 COMMENT 'cityHash64(user_id if set, else anonymous_id)',
    anon        Bool COMMENT 'the key is an anonymous id (user_id was empty), so identity_map may join it to a user',
    distinct_id SimpleAggregateFunction(any, String) COMMENT 'the id string behind person_key, for person lists',
    first_ts    SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_ts     SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (project, event, person_key, anon);

CREATE MATERIALIZED VIEW IF NOT EXISTS tenure.person_first_seen_mv TO tenure.person_first_seen AS
SELECT
    project,
    event,
    cityHash64(if(user_id != '', user_id, anonymous_id)) AS person_key,
    user_id = '' AS anon,
    any(if(user_id != '', user_id, anonymous_id)) AS distinct_id,
    min(timestamp) AS first_ts,
    max(timestamp) AS last_ts
FROM tenure.events
WHERE type IN ('track', 'page', 'screen') AND (user_id != '' OR anonymous_id != '')
GROUP BY project, event, person_key, anon;

-- person_activity: which quarter-hours of each UTC day a distinct id did each event in.
-- `slots` is a 96-bit mask (bit i = active in [day + 15 min * i, + 15 min)); groupBitOr is idempotent.
-- Quarter-hours make every period exact in every IANA time zone (all offsets are multiples of
-- 15 minutes, DST included) and give hour periods too, from one row per id, event and UTC day:
-- a query maps each row to the one or two local periods it touches (docs/analytics.md).
-- Rows grow with distinct ids x active days x distinct events.
-- PARTITION BY month: time-range queries prune; ORDER BY (project, event, day, person_key, anon):
-- one-event queries read one contiguous range per project; the key is a UInt64, which chdb-notes
-- measured 10x faster to join and group than a String person id.
CREATE TABLE IF NOT EXISTS tenure.person_activity
(
    project    LowCardinality(String),
    event      LowCardinality(String),
    day        Date COMMENT 'UTC day',
    person_key UInt64,
    anon       Bool,
    slots      SimpleAggregateFunction(groupBitOr, UInt128) COMMENT 'bit i: active in the i-th quarter-hour of the UTC day'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (project, event, day, person_key, anon);

CREATE MATERIALIZED VIEW IF NOT EXISTS tenure.person_activity_mv TO tenure.person_activity AS
SELECT
    project,
    event,
    toDate(timestamp, 'UTC') AS day,
    cityHash64(if(user_id != '', user_id, anonymous_id)) AS person_key,
    user_id = '' AS anon,
    groupBitOr(bitShiftLeft(toUInt128(1), intDiv(toUnixTimestamp(timestamp) % 86400, 900))) AS slots
FROM tenure.events
WHERE type IN ('track', 'page', 'screen') AND (user_id != '' OR anonymous_id != '')
GROUP BY project, event, day, person_key, anon;

-- purchases: one row per purchase messageId (revenue is deduplicated by messageId, never summed
-- per insert). Grows with purchases, a small share of events. Read by RFM and LTV.
-- ORDER BY (project, person_key, anon, message_id): per-person sums, and a duplicate of a message
-- lands on the same key so merges and GROUP BY message_id collapse it.
CREATE TABLE IF NOT EXISTS tenure.purchases
(
    project     LowCardinality(String),
    person_key  UInt64,
    anon        Bool,
    message_id  String,
    distinct_id SimpleAggregateFunction(any, String),
    ts          SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    revenue     SimpleAggregateFunction(max, Decimal(18, 4))
)
ENGINE = AggregatingMergeTree
ORDER BY (project, person_key, anon, message_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS tenure.purchases_mv TO tenure.purchases AS
SELECT
    project,
    cityHash64(if(user_id != '', user_id, anonymous_id)) AS person_key,
    user_id = '' AS anon,
    message_id,
    any(if(user_id != '', user_id, anonymous_id)) AS distinct_id,
    min(timestamp) AS ts,
    max(ifNull(revenue, toDecimal64(0, 4))) AS revenue
FROM tenure.events
WHERE type = 'track' AND event = 'purchase' AND (user_id != '' OR anonymous_id != '')
GROUP BY project, person_key, anon, message_id;
