/**
 * The exporter on a real TimescaleDB (2.26 on PostgreSQL 15, `withTimescaleDb`) into ClickHouse
 * (chdb, or CH_URL): what stand-ins of the catalog could not prove. The watermark is the one
 * `_timescaledb_functions.cagg_watermark` reports after real refreshes (the end of the newest
 * materialized bucket, not the end of the refreshed window); the reach is read from the refresh
 * policy the migrations created; the policy itself is run with `run_job`. The refresh job is
 * paused in every test so that only the test materializes buckets. Skipped, with the reason, only
 * where TimescaleDB is not installed (`../shared/timescaledb/install.sh`).
 */
import t from 'tap';
import type { Test } from 'tap';
import { type MigrationParams, migrateClickHouse, migratePostgres } from '../../../storage/index.js';
import { timescaleDbMissing, withClickHouse, withTimescaleDb } from '../../../testing/index.js';
import type { ChEndpoint, PgEndpoint } from './endpoints.js';
import { caggWatermark } from './pg-source.js';
import { MINUTE, assertSameRollups, chBucket, exporterOn, minutesAgo, run } from './testdata/harness.js';

const missing = timescaleDbMissing();

const REFRESH_JOB_SQL = `
  SELECT j.job_id FROM timescaledb_information.jobs j
    JOIN timescaledb_information.continuous_aggregates c
      ON (j.hypertable_schema, j.hypertable_name) IN ((c.view_schema, c.view_name), (c.materialization_hypertable_schema, c.materialization_hypertable_name))
   WHERE c.view_name = 'metrics_1m' AND j.proc_name = 'policy_refresh_continuous_aggregate'`;

async function timescale(t: Test, params: Partial<MigrationParams> = {}) {
  const [db, ch] = await Promise.all([withTimescaleDb(t), withClickHouse(t)]);
  await Promise.all([migratePostgres(db.pool, { params }), migrateClickHouse(ch.client, { database: ch.database })]);
  const pool = db.pool;
  const refreshJob = async (): Promise<number | undefined> => (await pool.query<{ job_id: number }>(REFRESH_JOB_SQL)).rows[0]?.job_id;
  const job = await refreshJob();
  if (job === undefined) throw new Error('the migrations created no refresh policy for metrics_1m');
  await pool.query('SELECT alter_job($1, scheduled => false)', [job]);
  // The endpoint's parameters are the fallback for a server without a policy: deliberately not the
  // migration's, so a test sees which of the two the exporter used.
  const pg: PgEndpoint = { pool, flavour: 'timescaledb', params: { pg_cagg_start_offset_minutes: 120, pg_cagg_end_offset_minutes: 1 }, display: 'timescaledb' };
  const chEndpoint: ChEndpoint = { client: ch.client, database: ch.database, engine: ch.mode === 'embedded' ? 'embedded' : 'server', display: 'test' };
  return {
    pool,
    pg,
    chEndpoint,
    /** Points of cpu{host="a"} (the series is created on first use). */
    async points(...points: Array<[minutesAgo: number, value: number]>) {
      const { rows } = await pool.query<{ series_id: string }>(
        `INSERT INTO metric_series (metric_name, labels) VALUES ('cpu', '{"host": "a"}')
         ON CONFLICT (metric_name, labels) DO UPDATE SET metric_name = excluded.metric_name RETURNING series_id`,
      );
      for (const [ago, value] of points) {
        await pool.query('INSERT INTO metrics_points (time, series_id, value) VALUES ($1, $2, $3)', [new Date(minutesAgo(ago) + 10_000), rows[0]?.series_id, value]);
      }
    },
    /** A manual refresh of [from, to), as an operator would run it. */
    refresh: (from: number, to: number) => pool.query(`CALL refresh_continuous_aggregate('metrics_1m', $1::timestamptz, $2::timestamptz)`, [new Date(from), new Date(to)]),
    /** One run of the refresh policy, with the window it is configured with (relative to the real now). */
    runPolicy: async () => pool.query('CALL run_job($1)', [await refreshJob()]),
    chRows: async () => {
      const r = await ch.client.query({ query: `SELECT count() AS n FROM ${ch.database}.metrics_1m FINAL`, format: 'JSONEachRow' });
      return Number((await r.json<{ n: number | string }>())[0]?.n);
    },
  };
}

t.test('only buckets below the real materialization watermark are exported, each once', { skip: missing }, async (t) => {
  const ts = await timescale(t);
  t.equal(await caggWatermark(ts.pool), undefined, 'nothing materialized: no watermark (TimescaleDB reports its lowest timestamp)');
  await ts.points([30, 1], [20, 2], [10, 3], [5, 4]);
  // Real-time aggregation: the view also shows buckets above the watermark, computed from the raw
  // points. Only the watermark keeps them out of ClickHouse.
  await ts.pool.query('ALTER MATERIALIZED VIEW metrics_1m SET (timescaledb.materialized_only = false)');
  t.equal(Number((await ts.pool.query('SELECT count(*) AS n FROM metrics_1m')).rows[0].n), 4, 'the view shows all four buckets');

  const { exporter, state } = exporterOn(ts);
  t.equal((await run(exporter)).rows, 0, 'nothing is materialized: nothing is closed');
  t.equal(state.get('watermark'), undefined);

  await ts.refresh(minutesAgo(60), minutesAgo(15));
  t.equal(await caggWatermark(ts.pool), minutesAgo(19), 'the watermark is the end of the newest materialized bucket, not of the refreshed window');
  const first = await run(exporter);
  t.equal(first.rows, 2, 'the buckets 30 and 20 minutes ago');
  t.equal(state.get('watermark'), new Date(minutesAgo(19)).toISOString(), 'the exporter watermark follows the aggregate');
  t.same(await chBucket(ts, minutesAgo(10), 'cpu'), [], 'a bucket above the watermark is not exported');
  t.same(await chBucket(ts, minutesAgo(5), 'cpu'), []);
  t.same(await chBucket(ts, minutesAgo(20), 'cpu'), [{ labels: '{"host":"a"}', avg_v: 2, max_v: 2, min_v: 2 }]);

  await ts.runPolicy();
  t.equal(await caggWatermark(ts.pool), minutesAgo(4), 'the policy materialized up to the newest point');
  const second = await run(exporter);
  t.equal(second.to, minutesAgo(4));
  t.same(await chBucket(ts, minutesAgo(10), 'cpu'), [{ labels: '{"host":"a"}', avg_v: 3, max_v: 3, min_v: 3 }], 'after the refresh it is');
  t.same(await chBucket(ts, minutesAgo(5), 'cpu'), [{ labels: '{"host":"a"}', avg_v: 4, max_v: 4, min_v: 4 }]);

  const again = await run(exporter);
  t.equal(again.from, minutesAgo(4) - 120 * MINUTE, 'a re-run goes back as far as the policy reaches (start 120 - end 1 + one bucket)');
  t.equal(again.rows, 4, 'and writes those buckets again');
  t.equal(await ts.chRows(), 4, 'ClickHouse FINAL holds every bucket once');
  t.equal(await assertSameRollups(t, ts, minutesAgo(60), minutesAgo(4)), 4);
});

t.test("a late point rewritten by the policy is exported again, as far back as the server's policy reaches", { skip: missing }, async (t) => {
  const ts = await timescale(t, { pg_cagg_start_offset_minutes: 90 });
  await ts.points([60, 1], [20, 1]);
  await ts.runPolicy();
  const { exporter, logs } = exporterOn(ts, { latenessMs: 5 * MINUTE });
  t.equal((await run(exporter)).rows, 2);
  // A point an hour late: the bucket is below the watermark, so the view keeps the old rollup
  // until the policy's next run rewrites it (its window starts 90 minutes back).
  await ts.points([60, 83], [8, 2]);
  t.same((await ts.pool.query('SELECT max_v FROM metrics_1m WHERE bucket = $1', [new Date(minutesAgo(60))])).rows, [{ max_v: 1 }], 'not yet rewritten');
  await ts.runPolicy();
  t.same((await ts.pool.query('SELECT avg_v, max_v, min_v FROM metrics_1m WHERE bucket = $1', [new Date(minutesAgo(60))])).rows, [{ avg_v: 42, max_v: 83, min_v: 1 }]);
  const report = await run(exporter);
  t.equal(report.from, minutesAgo(19) - 90 * MINUTE, "start_offset - end_offset + one bucket behind the watermark, from the server's policy (90), not the endpoint's parameters (120)");
  t.same(await chBucket(ts, minutesAgo(60), 'cpu'), [{ labels: '{"host":"a"}', avg_v: 42, max_v: 83, min_v: 1 }]);
  t.ok(
    logs.messages().some((m) => /rewrites buckets up to 90 minutes back/.test(m)),
    'says why it goes back further than lateness',
  );
  await assertSameRollups(t, ts, minutesAgo(120), minutesAgo(7));
});

t.test('without a refresh policy the endpoint parameters give the reach; a policy without start is warned about', { skip: missing }, async (t) => {
  const ts = await timescale(t, { pg_cagg_start_offset_minutes: 90 });
  await ts.pool.query(`SELECT remove_continuous_aggregate_policy('metrics_1m')`);
  await ts.points([30, 1]);
  await ts.refresh(minutesAgo(60), minutesAgo(10));
  const { exporter, logs } = exporterOn(ts);
  t.equal((await run(exporter)).rows, 1);
  t.equal((await run(exporter)).from, minutesAgo(29) - 120 * MINUTE, 'start 120, end 1, plus one bucket: the endpoint parameters');
  t.equal(logs.lines.filter((l) => l.level === 40).length, 0, 'no warning');

  await ts.pool.query(`SELECT add_continuous_aggregate_policy('metrics_1m', start_offset => NULL, end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 hour')`);
  const other = exporterOn(ts);
  const report = await run(other.exporter);
  t.equal(report.rows, 1, 'the first cycle still exports');
  t.ok(
    other.logs.messages().some((m) => /has no start_offset/.test(m)),
    'an unbounded policy is a warning',
  );
  t.equal((await run(other.exporter)).from, minutesAgo(29) - 5 * MINUTE, 'and only `lateness` is exported again');
});
