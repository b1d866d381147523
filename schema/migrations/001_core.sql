-- 001: the core tables: events, quarantine, identities.
-- Migrations are append-only: never edit a numbered file after it lands; add the next number.
-- Statements are separated by a line holding only `;`-terminated SQL; comments say why.

CREATE DATABASE IF NOT EXISTS tenure;

-- events: one row per accepted message.
-- Engine: ReplacingMergeTree, so the same (project, message_id) sent twice collapses to one row.
--   A duplicate carries the same sort key: the message id, event and day are the client's and the
--   skew-corrected timestamp moves only by the network latency between two sends (see docs/storage.md
--   for the midnight edge). Merges collapse duplicates eventually; queries that count raw rows use
--   FINAL (or count(DISTINCT message_id)); the analytics tables built from this one are idempotent
--   and never need FINAL.
-- PARTITION BY month of the event time: time-range scans prune whole months, old months can be
--   dropped or moved in one statement, and a month holds few enough parts to merge well.
-- ORDER BY (project, day, event, message_id): every analyst query is per project and a time range,
--   most also name an event; message_id last makes the key unique for ReplacingMergeTree.
-- Per-person scans use the bloom-filter skip indexes on user_id / anonymous_id; the analytics
--   tables (002+) are keyed by person for the heavy per-person work.
-- non_replicated_deduplication_window: the collector inserts each write-ahead-log segment with an
--   insert_deduplication_token, so a retried or replayed insert of the same block adds nothing.
CREATE TABLE IF NOT EXISTS tenure.events
(
    project            LowCardinality(String),
    message_id         String,
    type               LowCardinality(String),
    event              LowCardinality(String) COMMENT 'canonical name: register/login/click/purchase for lifecycle events, page/screen for those types, the sent name otherwise, empty for identify/alias/group',
    sent_event         LowCardinality(String) COMMENT 'event name exactly as sent (Signed Up, Order Completed...)',
    name               String COMMENT 'page/screen name',
    user_id            String,
    anonymous_id       String,
    previous_id        String COMMENT 'alias: the id that becomes user_id',
    group_id           String,
    timestamp          DateTime64(3, 'UTC') COMMENT 'event time, corrected for client clock skew',
    original_timestamp Nullable(DateTime64(3, 'UTC')) COMMENT 'timestamp as the client sent it',
    sent_at            Nullable(DateTime64(3, 'UTC')),
    received_at        DateTime64(3, 'UTC'),
    timestamp_replaced Bool COMMENT 'the corrected timestamp was implausible (future or before 1971) and was replaced by received_at',
    properties         JSON COMMENT 'track/page/screen properties',
    traits             JSON COMMENT 'identify/group traits (also context.traits when top-level traits are absent)',
    context            JSON,
    integrations       String COMMENT 'raw JSON as sent',
    revenue            Nullable(Decimal(18, 4)) COMMENT 'purchase: properties.revenue',
    currency           LowCardinality(String) COMMENT 'purchase: ISO-4217, upper case',
    order_id           String COMMENT 'purchase: properties.order_id',
    INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_anonymous_id anonymous_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project, toDate(timestamp), event, message_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- quarantine: every message that failed validation, kept verbatim with where and why it failed.
-- MergeTree ordered by (project, received_at): operators read "what was rejected lately".
-- Partitioned by month so old rejections can be dropped; duplicates are kept (each is a fact).
CREATE TABLE IF NOT EXISTS tenure.quarantine
(
    project     LowCardinality(String),
    received_at DateTime64(3, 'UTC'),
    message_id  String,
    type        LowCardinality(String),
    raw         String COMMENT 'the message exactly as received (decompressed)',
    field       String COMMENT 'JSON path of the failing field, like $.batch[3].properties.revenue',
    error       String COMMENT 'why it failed'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (project, received_at)
SETTINGS non_replicated_deduplication_window = 10000;

-- identities: which user an anonymous (or previous) id belongs to, from identify and alias.
-- AggregatingMergeTree with argMin by event time: the earliest join wins however late or often the
-- joins arrive, so the mapping is the same whatever the delivery order (merges are order-free).
-- Read it through the identity_map view below.
CREATE TABLE IF NOT EXISTS tenure.identities
(
    project      LowCardinality(String),
    anonymous_id String,
    user_id      AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
    joined_at    SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (project, anonymous_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS tenure.identities_mv TO tenure.identities AS
SELECT project, joined_id AS anonymous_id, argMinState(joined_user, timestamp) AS user_id, min(timestamp) AS joined_at
FROM
(
    SELECT project, if(type = 'alias', previous_id, anonymous_id) AS joined_id, user_id AS joined_user, timestamp
    FROM tenure.events
    WHERE type IN ('identify', 'alias') AND user_id != ''
)
WHERE joined_id NOT IN ('', joined_user)
GROUP BY project, joined_id;

CREATE VIEW IF NOT EXISTS tenure.identity_map AS
SELECT project, anonymous_id, argMinMerge(user_id) AS user_id, min(joined_at) AS joined_at
FROM tenure.identities
GROUP BY project, anonymous_id;
