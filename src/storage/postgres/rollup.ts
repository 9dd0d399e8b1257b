/**
 * The plain flavour's stand-in for the TimescaleDB continuous aggregate
 * (docs/storage.md#plain-flavour-partitions-and-rollups): recomputes whole 1-minute buckets of
 * metrics_1m from metrics_points over a window, so late points are folded in. The query mirrors
 * 0005_metrics_1m.timescaledb.sql; keep them together.
 */
import type { MigrationParams } from '../params.js';
import { type PgDatabase, inTransaction, withPgClient } from './client.js';

const MINUTE_MS = 60_000;

/** Serialises refreshers across agents (an arbitrary constant: "tc" + "m1m"). */
const REFRESH_LOCK_KEY = 0x7463_6d31_6dn;

const REFRESH_SQL = `
  INSERT INTO metrics_1m (bucket, metric_name, labels, avg_v, max_v, min_v)
  SELECT date_bin('1 minute', mp.time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
         ms.metric_name,
         labels_canonical(ms.labels) AS labels,
         avg(mp.value), max(mp.value), min(mp.value)
    FROM metrics_points mp
    JOIN metric_series ms ON ms.series_id = mp.series_id
   WHERE mp.time >= $1 AND mp.time < $2
   GROUP BY 1, 2, 3`;

function floorToMinute(at: Date): Date {
  return new Date(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS);
}

/**
 * The window TimescaleDB's refresh policy would cover at `now`: [now - start_offset,
 * now - end_offset), aligned to whole buckets.
 */
export function metrics1mRefreshWindow(
  now: Date,
  params: Pick<MigrationParams, 'pg_cagg_start_offset_minutes' | 'pg_cagg_end_offset_minutes'>,
): { from: Date; to: Date } {
  return {
    from: floorToMinute(new Date(now.getTime() - params.pg_cagg_start_offset_minutes * MINUTE_MS)),
    to: floorToMinute(new Date(now.getTime() - params.pg_cagg_end_offset_minutes * MINUTE_MS)),
  };
}

/**
 * Recomputes the metrics_1m buckets in [from, to) (both rounded down to the minute) in one
 * transaction: readers see the old or the new buckets, never a gap. Plain flavour only.
 * @returns the number of rollup rows written.
 */
export async function refreshMetrics1m(db: PgDatabase, window: { readonly from: Date; readonly to: Date }): Promise<number> {
  const from = floorToMinute(window.from);
  const to = floorToMinute(window.to);
  if (from.getTime() >= to.getTime()) return 0;
  return withPgClient(db, (client) =>
    inTransaction(client, async () => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [REFRESH_LOCK_KEY.toString()]);
      await client.query('DELETE FROM metrics_1m WHERE bucket >= $1 AND bucket < $2', [from, to]);
      const inserted = await client.query(REFRESH_SQL, [from, to]);
      return inserted.rowCount ?? 0;
    }),
  );
}
