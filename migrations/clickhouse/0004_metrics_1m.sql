-- Seed §2.4: the long-term copy of PostgreSQL's metrics_1m, with one deliberate change. The seed's
-- plain MergeTree keeps every re-export of a bucket (late data re-exports it with new values), so
-- CH would disagree with PG. ReplacingMergeTree(version) keeps, per (metric_name, labels, bucket),
-- the row with the highest version (the exporter writes its export time in microseconds);
-- readers query with FINAL to see exactly PostgreSQL's rows before background merges catch up.
-- TTL (365 days by default) is applied by the runner.
CREATE TABLE IF NOT EXISTS {{database}}.metrics_1m (
  bucket      DateTime('UTC'),
  metric_name LowCardinality(String),
  labels      String,      -- sorted-key JSON serialised by the exporter
  avg_v       Float64,
  max_v       Float64,
  min_v       Float64,
  version     UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(bucket)
ORDER BY (metric_name, labels, bucket)
SETTINGS storage_policy = {{storage_policy}}, non_replicated_deduplication_window = 1000;
