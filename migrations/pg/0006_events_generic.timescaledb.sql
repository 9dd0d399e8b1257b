-- Seed §1.4: business events. The seed's "id UUID PRIMARY KEY" cannot exist on a hypertable (a
-- unique index must contain the partitioning column), so the key is (id, ts) in both flavours.
CREATE TABLE IF NOT EXISTS events_generic (
  id         UUID NOT NULL DEFAULT uuid_generate_v4(),
  ts         TIMESTAMPTZ NOT NULL,
  type       TEXT NOT NULL,                 -- e.g. "deploy", "incident", "release"
  service    TEXT,
  severity   TEXT,                          -- info/warn/error
  payload    JSONB,
  PRIMARY KEY (id, ts)
);
SELECT create_hypertable('events_generic', 'ts', chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS idx_events_type_ts ON events_generic (type, ts DESC);
