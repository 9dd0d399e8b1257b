-- A table for `tables.event = "events_raw"` (the clickhouse sink README): business events
-- (deploys, incidents), the payload as JSON text. Same deduplication window as the seed tables.
CREATE TABLE IF NOT EXISTS events_raw (
  ts        DateTime64(3, 'UTC'),
  type      LowCardinality(String),
  service   LowCardinality(String),
  severity  LowCardinality(String),
  payload   String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (type, ts)
TTL toDateTime(ts) + INTERVAL 30 DAY DELETE
SETTINGS non_replicated_deduplication_window = 1000;
