/**
 * The TimescaleDB flavour against the real extension (TimescaleDB 2.26.4 on PostgreSQL 15,
 * `withTimescaleDb` in src/testing/timescaledb.ts): the migrations' hypertables and chunk intervals,
 * compression settings, the compression, retention and refresh policies with their configured
 * intervals and a parameter change replacing them, the metrics_1m continuous aggregate's exact
 * rollups (and the plain flavour's refresh computing the same), and business events stored once on
 * a hypertable. These replace the older tests against catalog stand-ins and PostgreSQL's parser,
 * which could prove syntax but not what TimescaleDB does. Skipped, with the reason, only where
 * TimescaleDB is not installed (`../shared/timescaledb/install.sh`).
 */
import t from 'tap';
import type pg from 'pg';
import { migratePostgres } from '../../src/storage/postgres/migrate.js';
import { detectFlavour } from '../../src/storage/postgres/flavour.js';
import { metrics1mRefreshWindow, refreshMetrics1m } from '../../src/storage/postgres/rollup.js';
import { DEFAULT_MIGRATION_PARAMS, type MigrationParams } from '../../src/storage/params.js';
import { SchemaRegistry, registerSchema } from '../../src/registry/index.js';
import { TypedTables } from '../../src/plugins/sinks/postgres/typed-tables.js';
import { withPostgres } from '../helpers/postgres.js';
import { timescaleDbMissing, withTimescaleDb } from '../helpers/timescaledb.js';

const missing = timescaleDbMissing();
const MINUTE = 60_000;

/**
 * Every policy job, keyed `proc table`, with the intervals that matter, as text PostgreSQL prints.
 * 2.26 lists a continuous aggregate's jobs under the view's name (metrics_1m).
 */
async function policies(pool: pg.Pool): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ proc_name: string; hypertable_name: string; setting: string }>(
    `SELECT proc_name, hypertable_name,
            CASE proc_name
              WHEN 'policy_compression' THEN 'compress_after ' || ((config->>'compress_after')::interval)::text
              WHEN 'policy_retention' THEN 'drop_after ' || ((config->>'drop_after')::interval)::text
              ELSE 'start_offset ' || ((config->>'start_offset')::interval)::text || ', end_offset ' || ((config->>'end_offset')::interval)::text
                   || ', every ' || schedule_interval::text
            END AS setting
       FROM timescaledb_information.jobs
      WHERE proc_name IN ('policy_compression', 'policy_retention', 'policy_refresh_continuous_aggregate')
      ORDER BY 1, 2`,
  );
  const out: Record<string, string> = {};
  for (const r of rows) {
    const key = `${r.proc_name} ${r.hypertable_name}`;
    if (key in out) throw new Error(`two ${key} jobs`);
    out[key] = r.setting;
  }
  return out;
}

t.test('migrations: hypertables with their chunk intervals, compression, policies with the configured intervals', { skip: missing }, async (t) => {
  const { pool } = await withTimescaleDb(t);
  const result = await migratePostgres(pool);
  t.equal(result.flavour, 'timescaledb');
  t.equal(await detectFlavour(pool), 'timescaledb');
  t.same((await migratePostgres(pool)).steps, [], 'a second run has nothing to do');

  const dimensions = await pool.query(
    `SELECT hypertable_name, column_name, time_interval::text AS chunk FROM timescaledb_information.dimensions
      WHERE hypertable_schema = current_schema() ORDER BY hypertable_name`,
  );
  t.same(dimensions.rows, [
    { hypertable_name: 'events_generic', column_name: 'ts', chunk: '1 day' },
    { hypertable_name: 'metrics_histogram', column_name: 'time', chunk: '1 day' },
    { hypertable_name: 'metrics_points', column_name: 'time', chunk: '1 day' },
  ], 'three hypertables, daily chunks');
  const compressed = await pool.query(`SELECT hypertable_name FROM timescaledb_information.hypertables WHERE compression_enabled ORDER BY 1`);
  t.same(compressed.rows, [{ hypertable_name: 'metrics_points' }], 'only metrics_points is compressed');
  const settings = await pool.query(
    `SELECT attname, segmentby_column_index AS segmentby, orderby_column_index AS orderby, orderby_asc
       FROM timescaledb_information.compression_settings WHERE hypertable_name = 'metrics_points' ORDER BY attname`,
  );
  t.same(settings.rows, [
    { attname: 'series_id', segmentby: 1, orderby: null, orderby_asc: null },
    { attname: 'time', segmentby: null, orderby: 1, orderby_asc: false },
  ], 'segmented by series, ordered by time DESC');
  const caggs = await pool.query(`SELECT view_name FROM timescaledb_information.continuous_aggregates`);
  t.same(caggs.rows, [{ view_name: 'metrics_1m' }]);
  t.same(await policies(pool), {
    'policy_compression metrics_points': 'compress_after 7 days',
    'policy_refresh_continuous_aggregate metrics_1m': 'start_offset 02:00:00, end_offset 00:01:00, every 00:01:00',
    'policy_retention events_generic': 'drop_after 30 days',
    'policy_retention metrics_1m': 'drop_after 90 days',
    'policy_retention metrics_histogram': 'drop_after 30 days',
    'policy_retention metrics_points': 'drop_after 30 days',
  });
  const keys = await pool.query(`SELECT conrelid::regclass::text AS t FROM pg_constraint WHERE contype = 'f' AND confrelid = 'metric_series'::regclass ORDER BY 1`);
  t.same(keys.rows, [{ t: 'metrics_histogram' }, { t: 'metrics_points' }], 'series_foreign_key: the points reference metric_series');
});

t.test('changed parameters re-apply the policies only: every interval replaced, no job twice', { skip: missing }, async (t) => {
  const { pool } = await withTimescaleDb(t);
  await migratePostgres(pool);
  const params: Partial<MigrationParams> = {
    pg_points_retention_days: 14,
    pg_points_compress_after_days: 3,
    pg_events_retention_days: 10,
    pg_metrics_1m_retention_days: 60,
    pg_cagg_start_offset_minutes: 60,
    pg_cagg_end_offset_minutes: 2,
    pg_cagg_schedule_interval_minutes: 5,
  };
  const changed = await migratePostgres(pool, { params });
  t.same(changed.steps.map((s) => s.id), ['R__policies'], 'a parameter change re-runs the policies file only');
  t.same(await policies(pool), {
    'policy_compression metrics_points': 'compress_after 3 days',
    'policy_refresh_continuous_aggregate metrics_1m': 'start_offset 01:00:00, end_offset 00:02:00, every 00:05:00',
    'policy_retention events_generic': 'drop_after 10 days',
    'policy_retention metrics_1m': 'drop_after 60 days',
    'policy_retention metrics_histogram': 'drop_after 14 days',
    'policy_retention metrics_points': 'drop_after 14 days',
  });
  t.same((await migratePostgres(pool, { params })).steps, [], 'the same parameters again: nothing to do');
  await migratePostgres(pool);
  t.same(await policies(pool), {
    'policy_compression metrics_points': 'compress_after 7 days',
    'policy_refresh_continuous_aggregate metrics_1m': 'start_offset 02:00:00, end_offset 00:01:00, every 00:01:00',
    'policy_retention events_generic': 'drop_after 30 days',
    'policy_retention metrics_1m': 'drop_after 90 days',
    'policy_retention metrics_histogram': 'drop_after 30 days',
    'policy_retention metrics_points': 'drop_after 30 days',
  }, 'and back to the defaults');
});

t.test('series_foreign_key = false creates the point tables without the reference', { skip: missing }, async (t) => {
  const { pool } = await withTimescaleDb(t);
  await migratePostgres(pool, { params: { series_foreign_key: false } });
  const keys = await pool.query(`SELECT conrelid::regclass::text AS t FROM pg_constraint WHERE contype = 'f' AND confrelid = 'metric_series'::regclass`);
  t.same(keys.rows, []);
  await pool.query(`INSERT INTO metrics_points (time, series_id, value) VALUES (now(), 424242, 1)`);
  t.pass('a point of an unknown series is accepted');
});

interface Rollup {
  bucket: Date;
  metric_name: string;
  labels: Record<string, string>;
  avg_v: number;
  max_v: number;
  min_v: number;
}

/** Points (metric, labels, ms, value) written as the postgres sink stores them: a series row, then the point. */
async function writePoints(pool: pg.Pool, points: ReadonlyArray<readonly [string, Record<string, string>, number, number]>): Promise<void> {
  for (const [name, labels, time, value] of points) {
    const { rows } = await pool.query<{ series_id: string }>(
      `INSERT INTO metric_series (metric_name, labels) VALUES ($1, $2::jsonb)
       ON CONFLICT (metric_name, labels) DO UPDATE SET metric_name = excluded.metric_name RETURNING series_id`,
      [name, JSON.stringify(labels)],
    );
    await pool.query('INSERT INTO metrics_points (time, series_id, value) VALUES ($1, $2, $3)', [new Date(time), rows[0]?.series_id, value]);
  }
}

const rollups = async (pool: pg.Pool): Promise<Rollup[]> =>
  (await pool.query<Rollup>('SELECT bucket, metric_name, labels, avg_v, max_v, min_v FROM metrics_1m ORDER BY bucket, metric_name, labels::text')).rows;

t.test('metrics_1m: exact rollups per bucket and series over the policy window, late points folded in, as the plain refresh computes them', { skip: missing }, async (t) => {
  const [{ pool }, plain] = await Promise.all([withTimescaleDb(t), withPostgres(t)]);
  await Promise.all([migratePostgres(pool), migratePostgres(plain.pool, { flavour: 'plain' })]);
  // Only the test refreshes: the policy's job is paused (its window moves with the clock).
  await pool.query(`SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'`);
  const now = new Date();
  const window = metrics1mRefreshWindow(now, DEFAULT_MIGRATION_PARAMS);
  const minute = Math.floor(now.getTime() / MINUTE) * MINUTE;
  const at = (minutesAgo: number, seconds = 0) => minute - minutesAgo * MINUTE + seconds * 1000;
  const points = [
    ['cpu', { host: 'a', az: 'x' }, at(10, 1), 1],
    ['cpu', { host: 'a', az: 'x' }, at(10, 30), 2],
    ['cpu', { host: 'a', az: 'x' }, at(10, 59.999), 6],
    ['cpu', { host: 'b', az: 'x' }, at(10, 5), -1.5],
    ['up', {}, at(10, 0), 1],
    ['cpu', { host: 'a', az: 'x' }, at(9, 0), 10],
    ['cpu', { host: 'a', az: 'x' }, at(120, 0), 7], // the oldest bucket of the window
    ['cpu', { host: 'a', az: 'x' }, at(121, 0), 99], // before the window: not materialized
    ['cpu', { host: 'a', az: 'x' }, at(0, 0), 99], // the current minute, inside end_offset: not yet
  ] as const;
  await Promise.all([writePoints(pool, points), writePoints(plain.pool, points)]);
  t.equal(window.from.getTime(), at(120));
  t.equal(window.to.getTime(), at(1));
  await pool.query(`CALL refresh_continuous_aggregate('metrics_1m', $1::timestamptz, $2::timestamptz)`, [window.from, window.to]);
  const expected: Rollup[] = [
    { bucket: new Date(at(120)), metric_name: 'cpu', labels: { az: 'x', host: 'a' }, avg_v: 7, max_v: 7, min_v: 7 },
    { bucket: new Date(at(10)), metric_name: 'cpu', labels: { az: 'x', host: 'a' }, avg_v: 3, max_v: 6, min_v: 1 },
    { bucket: new Date(at(10)), metric_name: 'cpu', labels: { az: 'x', host: 'b' }, avg_v: -1.5, max_v: -1.5, min_v: -1.5 },
    { bucket: new Date(at(10)), metric_name: 'up', labels: {}, avg_v: 1, max_v: 1, min_v: 1 },
    { bucket: new Date(at(9)), metric_name: 'cpu', labels: { az: 'x', host: 'a' }, avg_v: 10, max_v: 10, min_v: 10 },
  ];
  t.same(await rollups(pool), expected, 'one row per bucket and series: avg, max, min');

  // A late point in an already materialized bucket: the next refresh of the window rewrites it.
  const late = [['cpu', { host: 'a', az: 'x' }, at(10, 45), 11]] as const;
  await Promise.all([writePoints(pool, late), writePoints(plain.pool, late)]);
  t.same(await rollups(pool), expected, 'materialized only: the old rollup until the refresh');
  await pool.query(`CALL refresh_continuous_aggregate('metrics_1m', $1::timestamptz, $2::timestamptz)`, [window.from, window.to]);
  expected[1] = { ...expected[1]!, avg_v: 5, max_v: 11 };
  t.same(await rollups(pool), expected, 'the late point is folded in');

  t.equal(await refreshMetrics1m(plain.pool, window), expected.length);
  t.same(await rollups(plain.pool), await rollups(pool), "the plain flavour's refresh over the same window computes the same rollups");
  const columns = async (db: pg.Pool) =>
    (
      await db.query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'metrics_1m' ORDER BY ordinal_position`,
      )
    ).rows;
  t.same(await columns(plain.pool), await columns(pool), 'and has the same columns');
});

t.test('business events on the hypertable: a stored (id, ts) is skipped; the registry works', { skip: missing }, async (t) => {
  const { pool } = await withTimescaleDb(t);
  await migratePostgres(pool);
  const insert = `INSERT INTO events_generic (id, ts, type, service, severity, payload) VALUES ('5b0f7e8a-1c2d-8e3f-9a4b-5c6d7e8f9a0b', $1, 'deploy', 's', 'info', '{}')`;
  const ts = new Date();
  await pool.query(insert, [ts]);
  await pool.query(insert, [ts]);
  t.equal(Number((await pool.query('SELECT count(*) AS n FROM events_generic')).rows[0].n), 1, 'the second insert of the same event is skipped');
  const client = await pool.connect();
  try {
    const r = await registerSchema(client, 'deploy', { type: 'object', properties: { version: { type: 'string' } } });
    t.equal(r.stored.version, '1.0');
  } finally {
    client.release();
  }
});

t.test('a typed event table is created lazily as a hypertable with the retention policy', { skip: missing }, async (t) => {
  const { pool } = await withTimescaleDb(t);
  await migratePostgres(pool);
  const quiet = { info() {}, warn() {}, error() {} };
  const registry = new SchemaRegistry({ pool: async () => pool, logger: quiet });
  t.teardown(() => registry.stop());
  await registry.start();
  await registry.register('incident.opened', { type: 'object', properties: { sev: { type: 'integer' }, title: { type: 'string' } }, 'x-thermocline': { table: 'events_incident' } });
  const created: string[] = [];
  const typed = new TypedTables(registry, 14, (table) => created.push(table));
  const event = { kind: 'event' as const, type: 'incident.opened', time_us: Date.now() * 1000, service: 'pager', severity: 'error', payload: { sev: 2, title: 'db down' } };
  // Two writers at once (two gateways): neither fails, the table is created once, the row stored once.
  await Promise.all([typed.write(pool, 'timescaledb', [event]), new TypedTables(registry, 14, (table) => created.push(table)).write(pool, 'timescaledb', [event])]);
  t.same(created, ['events_incident']);
  const hyper = await pool.query(`SELECT column_name, time_interval::text AS chunk FROM timescaledb_information.dimensions WHERE hypertable_name = 'events_incident'`);
  t.same(hyper.rows, [{ column_name: 'ts', chunk: '1 day' }], 'a hypertable on ts, daily chunks');
  const job = await pool.query(`SELECT config->>'drop_after' AS drop_after FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = 'events_incident'`);
  t.equal(job.rows[0]?.drop_after, '14 days');
  t.same((await pool.query('SELECT sev, title, schema_version FROM events_incident')).rows, [{ sev: '2', title: 'db down', schema_version: '1.0' }]);
});
