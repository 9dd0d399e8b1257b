-- Seed §1.4 on plain PostgreSQL: daily range partitions on ts. A partitioned table's primary key
-- must include the partition key, hence (id, ts) rather than the seed's id alone (the TimescaleDB
-- flavour has the same constraint and the same key).
CREATE TABLE IF NOT EXISTS events_generic (
  id         UUID NOT NULL DEFAULT uuid_generate_v4(),
  ts         TIMESTAMPTZ NOT NULL,
  type       TEXT NOT NULL,                 -- e.g. "deploy", "incident", "release"
  service    TEXT,
  severity   TEXT,                          -- info/warn/error
  payload    JSONB,
  PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX IF NOT EXISTS idx_events_type_ts ON events_generic (type, ts DESC);
