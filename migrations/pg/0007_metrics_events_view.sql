-- Seed §1.5: compatibility view for readers of the old metrics_events name.
CREATE OR REPLACE VIEW metrics_events AS
SELECT mp.time, ms.metric_name, ms.labels, mp.value
FROM metrics_points mp
JOIN metric_series ms ON ms.series_id = mp.series_id;
