-- Seed §1.3: the 1-minute continuous aggregate exported to ClickHouse. WITH NO DATA lets it be
-- created inside the migration's transaction (WITH DATA cannot); the refresh policy in
-- R__policies.timescaledb.sql fills it.
-- The seed's "GROUP BY ..., labels" resolves to ms.labels (in GROUP BY an input column wins over an
-- output alias); grouping by the selected expression itself is equivalent (jsonb equality ignores
-- key order) and keeps the target list to group-by expressions and aggregates, the shape
-- continuous aggregates are written for.
CREATE MATERIALIZED VIEW IF NOT EXISTS metrics_1m
WITH (timescaledb.continuous) AS
SELECT time_bucket('1 minute', mp.time) AS bucket,
       ms.metric_name,
       labels_canonical(ms.labels)       AS labels,
       avg(mp.value) AS avg_v,
       max(mp.value) AS max_v,
       min(mp.value) AS min_v
FROM metrics_points mp
JOIN metric_series ms ON ms.series_id = mp.series_id
GROUP BY bucket, ms.metric_name, labels_canonical(ms.labels)
WITH NO DATA;
