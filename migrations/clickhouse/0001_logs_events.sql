-- Seed §2.2: logs. TTL is not in this file: retention is a parameter, applied (and re-applied when
-- it changes) by the runner as ALTER TABLE … MODIFY TTL, with moves to the warm/cold volumes only
-- when the table uses the hot_warm_cold storage policy. The storage policy is chosen at creation:
-- hot_warm_cold when system.storage_policies has it, 'default' otherwise (the embedded engine).
-- The deduplication window lets insert_deduplication_token drop a replayed batch (DESIGN §1).
CREATE TABLE IF NOT EXISTS {{database}}.logs_events (
  timestamp  DateTime64(3, 'UTC'),
  service    LowCardinality(String),
  host       LowCardinality(String),
  level      LowCardinality(String),     -- info/warn/error
  trace_id   String,
  span_id    String,
  message    String,
  labels     Map(String, String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (service, timestamp, trace_id)
SETTINGS storage_policy = {{storage_policy}}, index_granularity = 8192, non_replicated_deduplication_window = 1000;

ALTER TABLE {{database}}.logs_events
  ADD INDEX IF NOT EXISTS idx_trace trace_id TYPE set(0) GRANULARITY 4;

ALTER TABLE {{database}}.logs_events
  ADD INDEX IF NOT EXISTS idx_msg message TYPE ngrambf_v1(3, 256, 3, 0) GRANULARITY 64;
