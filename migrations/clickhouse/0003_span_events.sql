-- Seed §2.3: span events. TTL applied by the runner (see 0001_logs_events.sql).
CREATE TABLE IF NOT EXISTS {{database}}.span_events (
  trace_id    String,
  span_id     String,
  ts          DateTime64(6, 'UTC'),
  name        LowCardinality(String),
  attr        Map(String, String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (trace_id, span_id, ts)
SETTINGS storage_policy = {{storage_policy}}, non_replicated_deduplication_window = 1000;
