/**
 * Test support for the rollup exporter: fresh PostgreSQL and ClickHouse databases from the shared
 * test engines (src/testing), the exporter on them outside a runtime, points written straight
 * into `metrics_points` (the pipeline tests write them through the postgres sink), and the
 * comparison the guarantee is stated in. Not a test file itself.
 */
import type { Test } from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import type { Json, StateStore } from '../../../../index.js';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { MetricsRegistry } from '../../../../core/telemetry/metrics.js';
import { activeChdbPath, ensurePartitions, migrateClickHouse, migratePostgres } from '../../../../storage/index.js';
import { type TestClickHouse, withClickHouse, type TestPostgres, withPostgres } from '../../../../testing/index.js';
import { compareRollups } from '../compare.js';
import type { ChEndpoint, Endpoints, PgEndpoint } from '../endpoints.js';
import { type ExporterOptions, RollupExporter } from '../exporter.js';

export const MINUTE = 60_000;
/**
 * "Now" for a test file: exporters made here use it as their clock, so which buckets are closed
 * does not depend on a minute rolling over mid-test.
 */
export const NOW = Date.now();
/** A minute boundary `minutes` before NOW: closed buckets need timestamps in the past. */
export const minutesAgo = (minutes: number) => Math.floor(NOW / MINUTE) * MINUTE - minutes * MINUTE;

export interface Targets {
  readonly db: TestPostgres;
  readonly ch: TestClickHouse;
  readonly pg: PgEndpoint;
  readonly chEndpoint: ChEndpoint;
  /** A URL for the test ClickHouse database, for sinks and the CLI; undefined on testcontainers. */
  readonly chUrl: string | undefined;
}

/** Fresh, migrated databases on both engines. */
export async function targets(t: Test, options: { migrate?: boolean } = {}): Promise<Targets> {
  const [db, ch] = await Promise.all([withPostgres(t), withClickHouse(t)]);
  if (options.migrate !== false) {
    await migratePostgres(db.pool, { flavour: 'plain' });
    await migrateClickHouse(ch.client, { database: ch.database });
  }
  return {
    db,
    ch,
    pg: { pool: db.pool, flavour: 'plain', params: { pg_cagg_start_offset_minutes: 120, pg_cagg_end_offset_minutes: 1 }, display: 'test' },
    chEndpoint: { client: ch.client, database: ch.database, engine: ch.mode === 'embedded' ? 'embedded' : 'server', display: 'test' },
    chUrl: chUrlFor(ch),
  };
}

export function chUrlFor(ch: TestClickHouse): string | undefined {
  if (ch.mode === 'embedded') return `chdb://${activeChdbPath() ?? ''}?database=${ch.database}`;
  if (ch.mode === 'url' && process.env.CH_URL) {
    const url = new URL(process.env.CH_URL);
    url.pathname = `/${ch.database}`;
    return url.toString();
  }
  return undefined;
}

/** A state store over a Map, as ctx.state is over SQLite. */
export function memoryState(map = new Map<string, Json>()): StateStore & { map: Map<string, Json> } {
  return { map, get: (k) => map.get(k), set: (k, v) => void map.set(k, v), delete: (k) => void map.delete(k) };
}

/** Log lines as parsed JSON. */
export class Logs {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly logger = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const l of chunk.toString('utf8').split('\n')) if (l) this.lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    }),
  );
  messages(): string[] {
    return this.lines.map((l) => String(l.msg));
  }
}

export function fixedEndpoints(pg: PgEndpoint, ch: ChEndpoint): Endpoints {
  return { postgres: async () => pg, clickhouse: async () => ch, release: async () => undefined };
}

export function exporterOn(
  tg: Pick<Targets, 'pg' | 'chEndpoint'>,
  options: Partial<Omit<ExporterOptions, 'endpoints'>> & { endpoints?: Endpoints } = {},
): { exporter: RollupExporter; state: StateStore; logs: Logs; registry: MetricsRegistry } {
  const logs = new Logs();
  const registry = new MetricsRegistry({ processMetrics: false });
  const state = options.state ?? memoryState();
  const exporter = new RollupExporter({
    id: 'rollups',
    latenessMs: 5 * MINUTE,
    maxRowsPerCycle: 100_000,
    logger: logs.logger,
    metrics: registry.forComponent('rollups', 'task', 'rollup_exporter'),
    endpoints: fixedEndpoints(tg.pg, tg.chEndpoint),
    clock: () => NOW,
    ...options,
    state,
  });
  return { exporter, state, logs, registry };
}

export const run = (exporter: RollupExporter) => exporter.runCycle(new AbortController().signal);

export interface Point {
  readonly name: string;
  readonly labels: Record<string, string>;
  /** Epoch milliseconds. */
  readonly time: number;
  readonly value: number;
}

/** Writes points the way the postgres sink stores them (series row, then the point). */
export async function writePoints(db: TestPostgres, points: readonly Point[]): Promise<void> {
  const times = points.map((p) => p.time);
  await ensurePartitions(db.pool, { table: 'metrics_points', from: new Date(Math.min(...times)), to: new Date(Math.max(...times)) });
  for (const p of points) {
    const { rows } = await db.pool.query<{ series_id: string }>(
      `INSERT INTO metric_series (metric_name, labels) VALUES ($1, $2::jsonb)
       ON CONFLICT (metric_name, labels) DO UPDATE SET metric_name = excluded.metric_name RETURNING series_id`,
      [p.name, JSON.stringify(p.labels)],
    );
    // float8 parameters travel as text: String(value) is the shortest exact form, NaN and ±Infinity included.
    await db.pool.query(`INSERT INTO metrics_points (time, series_id, value) VALUES ($1, $2, $3::float8)`, [
      new Date(p.time),
      rows[0]?.series_id,
      String(p.value),
    ]);
  }
}

/** Many points at once, generated by PostgreSQL: `series` series, `perMinute` points a minute over [from, to). */
export async function generatePoints(db: TestPostgres, from: number, to: number, series: number, perMinute = 2): Promise<void> {
  await ensurePartitions(db.pool, { table: 'metrics_points', from: new Date(from), to: new Date(to) });
  await db.pool.query(
    `INSERT INTO metric_series (metric_name, labels)
     SELECT 'gen_metric_' || (s % 3), jsonb_build_object('series', s::text, 'instance', 'host-' || s, 'az', 'eu-' || (s % 2))
       FROM generate_series(0, $1::int - 1) s ON CONFLICT DO NOTHING`,
    [series],
  );
  await db.pool.query(
    `INSERT INTO metrics_points (time, series_id, value)
     SELECT t, ms.series_id, random() * 100 + extract(epoch FROM t) / 1e6
       FROM metric_series ms, generate_series($1::timestamptz, $2::timestamptz - interval '1 millisecond', $3::interval) t
      WHERE ms.metric_name LIKE 'gen_metric_%'`,
    [new Date(from), new Date(to), `${60 / perMinute} seconds`],
  );
}

/** PostgreSQL and ClickHouse FINAL hold the same rows over [from, to); returns the row count. */
export async function assertSameRollups(
  t: Test,
  tg: Pick<Targets, 'pg' | 'chEndpoint'>,
  from: number,
  to: number,
  what = 'ClickHouse equals PostgreSQL',
): Promise<number> {
  const result = await compareRollups(tg.pg, tg.chEndpoint, from, to, 3);
  t.equal(result.differences, 0, what, { examples: result.examples });
  return result.postgresRows;
}

/** ClickHouse's view of one bucket of one metric (FINAL), avg/max/min as numbers. */
export async function chBucket(
  tg: Pick<Targets, 'chEndpoint'>,
  bucket: number,
  name: string,
): Promise<Array<{ labels: string; avg_v: number; max_v: number; min_v: number }>> {
  const result = await tg.chEndpoint.client.query({
    query: `SELECT labels, avg_v, max_v, min_v FROM ${tg.chEndpoint.database}.metrics_1m FINAL
             WHERE bucket = toDateTime(${bucket / 1000}, 'UTC') AND metric_name = {name:String} ORDER BY labels`,
    query_params: { name },
    format: 'JSONEachRow',
  });
  return result.json();
}

/** Rows (all versions, no FINAL) ClickHouse holds for one bucket of one metric. */
export async function chVersions(tg: Pick<Targets, 'chEndpoint'>, bucket: number, name: string): Promise<number> {
  const result = await tg.chEndpoint.client.query({
    query: `SELECT count() AS n FROM ${tg.chEndpoint.database}.metrics_1m WHERE bucket = toDateTime(${bucket / 1000}, 'UTC') AND metric_name = {name:String}`,
    query_params: { name },
    format: 'JSONEachRow',
  });
  return Number((await result.json<{ n: number | string }>())[0]?.n ?? 0);
}
