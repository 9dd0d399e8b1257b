-- Seed §1.3 without TimescaleDB (DESIGN §5): metrics_1m is an ordinary table with the continuous
-- aggregate's columns, refreshed by the agent over the same window by recomputing whole buckets
-- (src/storage/postgres/rollup.ts), so late points are folded in. The primary key is the
-- aggregate's grouping key, bucket first for the exporter's "bucket >= watermark" scans.
CREATE TABLE IF NOT EXISTS metrics_1m (
  bucket      TIMESTAMPTZ NOT NULL,
  metric_name TEXT NOT NULL,
  labels      JSONB NOT NULL,
  avg_v       DOUBLE PRECISION,
  max_v       DOUBLE PRECISION,
  min_v       DOUBLE PRECISION,
  PRIMARY KEY (bucket, metric_name, labels)
);
