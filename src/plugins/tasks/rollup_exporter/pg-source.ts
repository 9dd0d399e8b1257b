/**
 * What the exporter asks PostgreSQL, per flavour (docs/storage.md#postgresql-two-flavours):
 *
 * - plain: `metrics_1m` is a table the exporter refreshes itself (`refreshMetrics1m`: whole
 *   buckets recomputed from `metrics_points` ⋈ `metric_series`), and buckets are closed once they
 *   end `end_offset` before now;
 * - TimescaleDB: the continuous aggregate's refresh policy materializes buckets; only buckets
 *   below its materialization watermark are read, and the policy may rewrite buckets as far back
 *   as its `start_offset`, so that is how far the exporter must look again.
 *
 * The TimescaleDB queries run against the real extension in timescaledb.test.ts; only what older
 * releases do differently (the `_timescaledb_internal` schema before 2.12, jobs named after the
 * materialization hypertable) is checked on stand-ins (timescaledb-older-releases.test.ts).
 */
import type pg from 'pg';
import { refreshMetrics1m } from '../../../storage/index.js';
import type { PgEndpoint } from './endpoints.js';

export const MINUTE_MS = 60_000;

export const floorMinute = (ms: number): number => Math.floor(ms / MINUTE_MS) * MINUTE_MS;
export const ceilMinute = (ms: number): number => Math.ceil(ms / MINUTE_MS) * MINUTE_MS;

/** A timestamp literal for statements that take no parameters (COPY); only ever built from a number. */
export function timestampLiteral(ms: number): string {
  return `TIMESTAMPTZ '${new Date(ms).toISOString()}'`;
}

/** Epoch milliseconds of an epoch-seconds value read from PostgreSQL, or undefined when NULL / ±infinity. */
function fromEpochSeconds(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n * 1000 : undefined;
}

async function one<T extends Record<string, unknown>>(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<T | undefined> {
  return (await pool.query<T>(sql, params)).rows[0];
}

/** The oldest bucket in `metrics_1m`, if any (minute aligned). */
export async function oldestBucket(pool: pg.Pool): Promise<number | undefined> {
  const row = await one<{ s: number | null }>(pool, `SELECT date_part('epoch', min(bucket)) AS s FROM metrics_1m`);
  return fromEpochSeconds(row?.s);
}

/** Plain flavour: the minute of the oldest point still in `metrics_points`, if any. */
export async function oldestPointMinute(pool: pg.Pool): Promise<number | undefined> {
  const row = await one<{ s: number | null }>(pool, `SELECT date_part('epoch', min(time)) AS s FROM metrics_points`);
  const ms = fromEpochSeconds(row?.s);
  return ms === undefined ? undefined : floorMinute(ms);
}

/** Which schema holds TimescaleDB's internal functions: `_timescaledb_functions` since 2.12. */
async function timescaleFunctionSchema(pool: pg.Pool): Promise<string> {
  const row = await one<{ modern: boolean }>(pool, `SELECT to_regprocedure('_timescaledb_functions.cagg_watermark(integer)') IS NOT NULL AS modern`);
  return row?.modern ? '_timescaledb_functions' : '_timescaledb_internal';
}

/**
 * The materialization watermark of the `metrics_1m` continuous aggregate: the end of the newest
 * materialized bucket, every bucket below it is materialized. The query TimescaleDB documents for
 * it ("Find the watermark of a continuous aggregate"); undefined while nothing was materialized
 * yet. TimescaleDB then reports the lowest timestamp PostgreSQL has (4714-11-24 BC, measured on
 * 2.26) rather than `-infinity`: NULLIF maps it to NULL, so it is not taken for a watermark.
 */
export function caggWatermarkSql(schema: string): string {
  return `SELECT date_part('epoch', NULLIF(${schema}.to_timestamp(${schema}.cagg_watermark(h.id)), TIMESTAMPTZ '4714-11-24 00:00:00+00 BC')) AS s
      FROM timescaledb_information.continuous_aggregates ca
      JOIN _timescaledb_catalog.hypertable h
        ON h.schema_name = ca.materialization_hypertable_schema AND h.table_name = ca.materialization_hypertable_name
     WHERE ca.view_schema = current_schema() AND ca.view_name = 'metrics_1m'`;
}

export async function caggWatermark(pool: pg.Pool): Promise<number | undefined> {
  const row = await one<{ s: number | null }>(pool, caggWatermarkSql(await timescaleFunctionSchema(pool)));
  if (!row) throw new Error('metrics_1m is not a continuous aggregate in the current schema (timescaledb_information.continuous_aggregates)');
  return fromEpochSeconds(row.s);
}

/**
 * The refresh policy's window of `metrics_1m`, in minutes, as configured on the server.
 * `timescaledb_information.jobs` names a continuous aggregate's jobs after the view (2.26,
 * measured) where older releases named its materialization hypertable: either matches.
 */
export const REFRESH_POLICY_SQL = `
  SELECT date_part('epoch', (j.config->>'start_offset')::interval) / 60 AS start_minutes,
         date_part('epoch', (j.config->>'end_offset')::interval) / 60 AS end_minutes
    FROM timescaledb_information.jobs j
    JOIN timescaledb_information.continuous_aggregates ca
      ON (j.hypertable_schema, j.hypertable_name) IN ((ca.view_schema, ca.view_name), (ca.materialization_hypertable_schema, ca.materialization_hypertable_name))
   WHERE ca.view_schema = current_schema() AND ca.view_name = 'metrics_1m'
     AND j.proc_name = 'policy_refresh_continuous_aggregate'
   LIMIT 1`;

/**
 * How far back (minutes before the closed limit) the refresh policy may still rewrite buckets:
 * `start_offset - end_offset`, plus one bucket because the policy widens its window to whole
 * buckets. Falls back to the named sink's parameters when no policy is found; undefined when the
 * policy has no start (it would rewrite everything).
 */
export async function refreshPolicyReachMinutes(pool: pg.Pool, fallback: PgEndpoint['params']): Promise<number | undefined> {
  const row = await one<{ start_minutes: number | null; end_minutes: number | null }>(pool, REFRESH_POLICY_SQL);
  if (!row) return fallback.pg_cagg_start_offset_minutes - fallback.pg_cagg_end_offset_minutes + 1;
  if (row.start_minutes === null) return undefined;
  return Math.ceil(Number(row.start_minutes) - Number(row.end_minutes ?? 0)) + 1;
}

/** Rows per bucket in [from, to), in bucket order (minute aligned, epoch ms). */
export async function bucketCounts(pool: pg.Pool, from: number, to: number): Promise<Array<{ bucket: number; rows: number }>> {
  const { rows } = await pool.query<{ s: number; n: string }>(
    `SELECT date_part('epoch', bucket) AS s, count(*) AS n FROM metrics_1m WHERE bucket >= $1 AND bucket < $2 GROUP BY bucket ORDER BY bucket`,
    [new Date(from), new Date(to)],
  );
  return rows.map((r) => ({ bucket: Number(r.s) * 1000, rows: Number(r.n) }));
}

/**
 * Plain flavour: recompute the buckets of [from, to), but never below the oldest point still in
 * `metrics_points`: the refresh deletes a bucket it finds no points for, and points past their
 * retention are gone while `metrics_1m` keeps their rollups longer (90 days against 30 by default).
 * @returns rollup rows written.
 */
export async function refreshPlain(pool: pg.Pool, from: number, to: number, oldestPoint: number | undefined): Promise<number> {
  if (oldestPoint === undefined) return 0;
  const start = Math.max(from, oldestPoint);
  if (start >= to) return 0;
  return refreshMetrics1m(pool, { from: new Date(start), to: new Date(to) });
}

/** `metrics_1m` exists (as a table or a continuous aggregate) in the search path. */
export async function hasMetrics1m(pool: pg.Pool): Promise<boolean> {
  const row = await one<{ ok: boolean }>(pool, `SELECT to_regclass('metrics_1m') IS NOT NULL AS ok`);
  return row?.ok === true;
}
