-- Seed §1.2: raw gauge/counter points in a hypertable. Daily chunks (seed §5 suggests 1d/6h) match
-- the plain flavour's daily partitions. Compression and retention policies live in
-- R__policies.timescaledb.sql because their intervals are parameters.
CREATE TABLE IF NOT EXISTS metrics_points (
  time        TIMESTAMPTZ NOT NULL,
  series_id   BIGINT NOT NULL {{series_id_references}},
  value       DOUBLE PRECISION NOT NULL
);
SELECT create_hypertable('metrics_points', 'time', chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS idx_mp_series_time ON metrics_points (series_id, time DESC);

-- Segment by series so a compressed chunk answers per-series queries without decompressing all.
ALTER TABLE metrics_points SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'series_id',
  timescaledb.compress_orderby = 'time DESC'
);
