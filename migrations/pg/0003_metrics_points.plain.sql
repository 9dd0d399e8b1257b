-- Seed §1.2 on plain PostgreSQL (DESIGN §5): native range partitions by day instead of a
-- hypertable. The agent creates partitions ahead and drops them past retention
-- (src/storage/postgres/partitions.ts); there is deliberately no DEFAULT partition, because rows
-- parked there would block creating that day's partition later.
CREATE TABLE IF NOT EXISTS metrics_points (
  time        TIMESTAMPTZ NOT NULL,
  series_id   BIGINT NOT NULL {{series_id_references}},
  value       DOUBLE PRECISION NOT NULL
) PARTITION BY RANGE (time);
CREATE INDEX IF NOT EXISTS idx_mp_series_time ON metrics_points (series_id, time DESC);
-- TimescaleDB creates this index on every hypertable; the rollup refresh scans by time.
CREATE INDEX IF NOT EXISTS metrics_points_time_idx ON metrics_points (time DESC);
