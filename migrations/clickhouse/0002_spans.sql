-- Seed §2.3: spans. TTL applied by the runner (see 0001_logs_events.sql).
CREATE TABLE IF NOT EXISTS {{database}}.spans (
  trace_id        String,
  span_id         String,
  parent_span_id  String,
  service         LowCardinality(String),
  name            LowCardinality(String),
  start_time      DateTime64(6, 'UTC'),
  end_time        DateTime64(6, 'UTC'),
  duration_ns     UInt64,
  status_code     LowCardinality(String),  -- UNSET/OK/ERROR
  status_message  String,
  attr            Map(String, String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(start_time)
ORDER BY (trace_id, start_time)
SETTINGS storage_policy = {{storage_policy}}, non_replicated_deduplication_window = 1000;
