-- Seed §1.2: histograms/distributions. Retention (same as points) is in R__policies.timescaledb.sql.
CREATE TABLE IF NOT EXISTS metrics_histogram (
  time        TIMESTAMPTZ NOT NULL,
  series_id   BIGINT NOT NULL {{series_id_references}},
  count       BIGINT,
  sum         DOUBLE PRECISION,
  buckets     JSONB           -- e.g. { "0.1": 123, "1": 45, "+Inf": 1 }
);
SELECT create_hypertable('metrics_histogram', 'time', chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS idx_mh_series_time ON metrics_histogram (series_id, time DESC);
