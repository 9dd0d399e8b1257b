-- Seed §1.2 on plain PostgreSQL: daily range partitions (see 0003_metrics_points.plain.sql).
CREATE TABLE IF NOT EXISTS metrics_histogram (
  time        TIMESTAMPTZ NOT NULL,
  series_id   BIGINT NOT NULL {{series_id_references}},
  count       BIGINT,
  sum         DOUBLE PRECISION,
  buckets     JSONB           -- e.g. { "0.1": 123, "1": 45, "+Inf": 1 }
) PARTITION BY RANGE (time);
CREATE INDEX IF NOT EXISTS idx_mh_series_time ON metrics_histogram (series_id, time DESC);
CREATE INDEX IF NOT EXISTS metrics_histogram_time_idx ON metrics_histogram (time DESC);
