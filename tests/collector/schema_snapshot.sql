CREATE TABLE tenure.events
(
    `project` LowCardinality(String),
    `message_id` String,
    `type` LowCardinality(String),
    `event` LowCardinality(String) COMMENT 'canonical name: register/login/click/purchase for lifecycle events, page/screen for those types, the sent name otherwise, empty for identify/alias/group',
    `sent_event` LowCardinality(String) COMMENT 'event name exactly as sent (Signed Up, Order Completed...)',
    `name` String COMMENT 'page/screen name',
    `user_id` String,
    `anonymous_id` String,
    `previous_id` String COMMENT 'alias: the id that becomes user_id',
    `group_id` String,
    `timestamp` DateTime64(3, 'UTC') COMMENT 'event time, corrected for client clock skew',
    `original_timestamp` Nullable(DateTime64(3, 'UTC')) COMMENT 'timestamp as the client sent it',
    `sent_at` Nullable(DateTime64(3, 'UTC')),
    `received_at` DateTime64(3, 'UTC'),
    `timestamp_replaced` Bool COMMENT 'the corrected timestamp was implausible (future or before 1971) and was replaced by received_at',
    `properties` JSON COMMENT 'track/page/screen properties',
    `traits` JSON COMMENT 'identify/group traits (also context.traits when top-level traits are absent)',
    `context` JSON,
    `integrations` String COMMENT 'raw JSON as sent',
    `revenue` Nullable(Decimal(18, 4)) COMMENT 'purchase: properties.revenue',
    `currency` LowCardinality(String) COMMENT 'purchase: ISO-4217, upper case',
    `order_id` String COMMENT 'purchase: properties.order_id',
    INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_anonymous_id anonymous_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project, toDate(timestamp), event, message_id)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 8192;

CREATE TABLE tenure.identities
(
    `project` LowCardinality(String),
    `anonymous_id` String,
    `user_id` AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
    `joined_at` SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (project, anonymous_id)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW tenure.identities_mv TO tenure.identities
(
    `project` LowCardinality(String),
    `anonymous_id` String,
    `user_id` AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
    `joined_at` DateTime64(3, 'UTC')
)
AS SELECT
    project,
    joined_id AS anonymous_id,
    argMinState(joined_user, timestamp) AS user_id,
    min(timestamp) AS joined_at
FROM
(
    SELECT
        project,
        if(type = 'alias', previous_id, anonymous_id) AS joined_id,
        user_id AS joined_user,
        timestamp
    FROM tenure.events
    WHERE (type IN ('identify', 'alias')) AND (user_id != '')
)
WHERE joined_id NOT IN ('', joined_user)
GROUP BY
    project,
    joined_id;

CREATE VIEW tenure.identity_map
(
    `project` LowCardinality(String),
    `anonymous_id` String,
    `user_id` String,
    `joined_at` SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
)
AS SELECT
    project,
    anonymous_id,
    argMinMerge(user_id) AS user_id,
    min(joined_at) AS joined_at
FROM tenure.identities
GROUP BY
    project,
    anonymous_id;

CREATE TABLE tenure.person_activity
(
    `project` LowCardinality(String),
    `event` LowCardinality(String),
    `day` Date COMMENT 'UTC day',
    `person_key` UInt64,
    `anon` Bool,
    `slots` SimpleAggregateFunction(groupBitOr, UInt128) COMMENT 'bit i: active in the i-th quarter-hour of the UTC day'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (project, event, day, person_key, anon)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW tenure.person_activity_mv TO tenure.person_activity
(
    `project` LowCardinality(String),
    `event` LowCardinality(String),
    `day` Date,
    `person_key` UInt64,
    `anon` UInt8,
    `slots` UInt128
)
AS SELECT
    project,
    event,
    toDate(timestamp, 'UTC') AS day,
    cityHash64(if(user_id != '', user_id, anonymous_id)) AS person_key,
    user_id = '' AS anon,
    groupBitOr(bitShiftLeft(toUInt128(1), intDiv(toUnixTimestamp(timestamp) % 86400, 900))) AS slots
FROM tenure.events
WHERE (type IN ('track', 'page', 'screen')) AND ((user_id != '') OR (anonymous_id != ''))
GROUP BY
    project,
    event,
    day,
    person_key,
    anon;

CREATE TABLE tenure.person_first_seen
(
    `project` LowCardinality(String),
    `event` LowCardinality(String),
    `person_key` UInt64 COMMENT 'cityHash64(user_id if set, else anonymous_id)',
    `anon` Bool COMMENT 'the key is an anonymous id (user_id was empty), so identity_map may join it to a user',
    `distinct_id` SimpleAggregateFunction(any, String) COMMENT 'the id string behind person_key, for person lists',
    `first_ts` SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    `last_ts` SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (project, event, person_key, anon)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW tenure.person_first_seen_mv TO tenure.person_first_seen
(
    `project` LowCardinality(String),
    `event` LowCardinality(String),
    `person_key` UInt64,
    `anon` UInt8,
    `distinct_id` String,
    `first_ts` DateTime64(3, 'UTC'),
    `last_ts` DateTime64(3, 'UTC')
)
AS SELECT
    project,
    event,
    cityHash64(if(user_id != '', user_id, anonymous_id)) AS person_key,
    user_id = '' AS anon,
    any(if(user_id != '', user_id, anonymous_id)) AS distinct_id,
    min(timestamp) AS first_ts,
    max(timestamp) AS last_ts
FROM tenure.events
WHERE (type IN ('track', 'page', 'screen')) AND ((user_id != '') OR (anonymous_id != ''))
GROUP BY
    project,
    event,
    person_key,
    anon;

CREATE TABLE tenure.purchases
(
    `project` LowCardinality(String),
    `person_key` UInt64,
    `anon` Bool,
    `message_id` String,
    `distinct_id` SimpleAggregateFunction(any, String),
    `ts` SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    `revenue` SimpleAggregateFunction(max, Decimal(18, 4))
)
ENGINE = AggregatingMergeTree
ORDER BY (project, person_key, anon, message_id)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW tenure.purchases_mv TO tenure.purchases
(
    `project` LowCardinality(String),
    `person_key` UInt64,
    `anon` UInt8,
    `message_id` String,
    `distinct_id` String,
    `ts` DateTime64(3, 'UTC'),
    `revenue` Decimal(18, 4)
)
AS SELECT
    project,
    cityHash64(if(user_id != '', user_id, anonymous_id)) AS person_key,
    user_id = '' AS anon,
    message_id,
    any(if(user_id != '', user_id, anonymous_id)) AS distinct_id,
    min(timestamp) AS ts,
    max(ifNull(revenue, toDecimal64(0, 4))) AS revenue
FROM tenure.events
WHERE (type = 'track') AND (event = 'purchase') AND ((user_id != '') OR (anonymous_id != ''))
GROUP BY
    project,
    person_key,
    anon,
    message_id;

CREATE TABLE tenure.quarantine
(
    `project` LowCardinality(String),
    `received_at` DateTime64(3, 'UTC'),
    `message_id` String,
    `type` LowCardinality(String),
    `raw` String COMMENT 'the message exactly as received (decompressed)',
    `field` String COMMENT 'JSON path of the failing field, like $.batch[3].properties.revenue',
    `error` String COMMENT 'why it failed'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (project, received_at)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 8192;
