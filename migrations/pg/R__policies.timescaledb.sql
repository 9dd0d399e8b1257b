-- Seed §1.2–1.4 and §5: compression, retention and refresh policies, rendered from the migration
-- parameters. Repeatable: the runner re-runs this file whenever its rendered text changes, i.e.
-- when a parameter changes. Each policy is removed only when one exists with a different
-- interval, then added if missing, so running it again is harmless.

-- metrics_points: compress after {{points_compress_after}}
SELECT remove_compression_policy('metrics_points')
WHERE EXISTS (
  SELECT 1 FROM timescaledb_information.jobs j
  WHERE j.proc_name = 'policy_compression'
    AND j.hypertable_schema = current_schema() AND j.hypertable_name = 'metrics_points'
    AND (j.config->>'compress_after')::interval IS DISTINCT FROM {{points_compress_after}}
);
SELECT add_compression_policy('metrics_points', {{points_compress_after}}, if_not_exists => TRUE);

-- metrics_points, metrics_histogram: raw points retention
SELECT remove_retention_policy('metrics_points')
WHERE EXISTS (
  SELECT 1 FROM timescaledb_information.jobs j
  WHERE j.proc_name = 'policy_retention'
    AND j.hypertable_schema = current_schema() AND j.hypertable_name = 'metrics_points'
    AND (j.config->>'drop_after')::interval IS DISTINCT FROM {{points_retention}}
);
SELECT add_retention_policy('metrics_points', {{points_retention}}, if_not_exists => TRUE);

-- The seed sets no retention on metrics_histogram; a hot tier without one grows without bound,
-- so histograms follow the points' retention.
SELECT remove_retention_policy('metrics_histogram')
WHERE EXISTS (
  SELECT 1 FROM timescaledb_information.jobs j
  WHERE j.proc_name = 'policy_retention'
    AND j.hypertable_schema = current_schema() AND j.hypertable_name = 'metrics_histogram'
    AND (j.config->>'drop_after')::interval IS DISTINCT FROM {{points_retention}}
);
SELECT add_retention_policy('metrics_histogram', {{points_retention}}, if_not_exists => TRUE);

-- events_generic
SELECT remove_retention_policy('events_generic')
WHERE EXISTS (
  SELECT 1 FROM timescaledb_information.jobs j
  WHERE j.proc_name = 'policy_retention'
    AND j.hypertable_schema = current_schema() AND j.hypertable_name = 'events_generic'
    AND (j.config->>'drop_after')::interval IS DISTINCT FROM {{events_retention}}
);
SELECT add_retention_policy('events_generic', {{events_retention}}, if_not_exists => TRUE);

-- metrics_1m: the continuous aggregate's jobs run on its materialization hypertable;
-- timescaledb_information.jobs names them after the view (2.26) or, in older releases, after that
-- hypertable: either matches.
SELECT remove_continuous_aggregate_policy('metrics_1m')
WHERE EXISTS (
  SELECT 1 FROM timescaledb_information.jobs j
  JOIN timescaledb_information.continuous_aggregates c
    ON (j.hypertable_schema, j.hypertable_name) IN ((c.view_schema, c.view_name), (c.materialization_hypertable_schema, c.materialization_hypertable_name))
  WHERE c.view_schema = current_schema() AND c.view_name = 'metrics_1m'
    AND j.proc_name = 'policy_refresh_continuous_aggregate'
    AND ((j.config->>'start_offset')::interval, (j.config->>'end_offset')::interval, j.schedule_interval)
        IS DISTINCT FROM ({{cagg_start_offset}}, {{cagg_end_offset}}, {{cagg_schedule_interval}})
);
SELECT add_continuous_aggregate_policy('metrics_1m',
  start_offset      => {{cagg_start_offset}},
  end_offset        => {{cagg_end_offset}},
  schedule_interval => {{cagg_schedule_interval}},
  if_not_exists     => TRUE);

SELECT remove_retention_policy('metrics_1m')
WHERE EXISTS (
  SELECT 1 FROM timescaledb_information.jobs j
  JOIN timescaledb_information.continuous_aggregates c
    ON (j.hypertable_schema, j.hypertable_name) IN ((c.view_schema, c.view_name), (c.materialization_hypertable_schema, c.materialization_hypertable_name))
  WHERE c.view_schema = current_schema() AND c.view_name = 'metrics_1m'
    AND j.proc_name = 'policy_retention'
    AND (j.config->>'drop_after')::interval IS DISTINCT FROM {{metrics_1m_retention}}
);
SELECT add_retention_policy('metrics_1m', {{metrics_1m_retention}}, if_not_exists => TRUE);
