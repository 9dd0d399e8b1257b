-- The schema registry (docs/events.md): one row per version of each business event type's JSON
-- Schema. Every gateway that writes to this database reads it, so a fleet shares one registry.
-- A version is major.minor: a compatible change adds a minor version, a forced incompatible one
-- a major version. The primary key is the last guard against two gateways registering the same
-- version at once (registration also holds a per-type advisory lock, see src/registry/store.ts).
CREATE TABLE IF NOT EXISTS schema_registry (
  type           TEXT NOT NULL,
  major          INTEGER NOT NULL CHECK (major >= 1),
  minor          INTEGER NOT NULL CHECK (minor >= 0),
  schema         JSONB NOT NULL,
  fingerprint    TEXT NOT NULL,
  registered_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  registered_by  TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (type, major, minor)
);
