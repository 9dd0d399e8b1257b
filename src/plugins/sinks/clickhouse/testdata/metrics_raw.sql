-- A table for `tables.metric = "metrics_raw"` (the clickhouse sink README). One row per point;
-- histograms fill count/sum/buckets and leave value at 0. Adjust the TTL to your retention; keep
-- the deduplication window, which makes replayed deliveries harmless.
CREATE TABLE IF NOT EXISTS metrics_raw (
  time        DateTime64(3, 'UTC'),
  metric_name LowCardinality(String),
  type        LowCardinality(String),   -- gauge / counter / summary / histogram
  labels      Map(String, String),
  value       Float64,
  count       UInt64,
  sum         Float64,
  buckets     Map(String, UInt64)       -- cumulative count per upper bound, "+Inf" included
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (metric_name, time)
TTL toDateTime(time) + INTERVAL 30 DAY DELETE
SETTINGS non_replicated_deduplication_window = 1000;
