-- Seed §1.1: (metric_name, labels) normalised to a series_id, so points carry 8 bytes of identity.
CREATE TABLE IF NOT EXISTS metric_series (
  series_id   BIGSERIAL PRIMARY KEY,
  metric_name TEXT NOT NULL,
  labels      JSONB NOT NULL,        -- writers sort keys first (DESIGN §2: canonical label order)
  created_at  TIMESTAMPTZ DEFAULT now(),
  UNIQUE (metric_name, labels)
);

-- Seed §1.1, with two fixes: an empty object stays '{}' (jsonb_object_agg over no rows is NULL,
-- which would give label-less metrics NULL labels in metrics_1m), and STRICT maps NULL to NULL.
-- IMMUTABLE is required: the TimescaleDB continuous aggregate calls it.
CREATE OR REPLACE FUNCTION labels_canonical(j JSONB)
RETURNS JSONB LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT COALESCE(jsonb_object_agg(key, value ORDER BY key), '{}'::jsonb)
  FROM jsonb_each(j)
$$;
