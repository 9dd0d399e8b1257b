/**
 * The sink on a real TimescaleDB (2.26 on PostgreSQL 15, `withTimescaleDb`): the other tests here
 * run the plain flavour. It migrates, passes its health check, COPYs into the hypertables exactly
 * once (the ledger and the events' dedupe trigger on a hypertable), and what it wrote rolls up into
 * the metrics_1m continuous aggregate. Skipped, with the reason, only where TimescaleDB is not
 * installed (`../shared/timescaledb/install.sh`).
 */
import t from 'tap';
import { DEFAULT_MIGRATION_PARAMS, metrics1mRefreshWindow } from '../../../storage/index.js';
import { timescaleDbMissing, withTimescaleDb } from '../../../testing/index.js';
import { event, histogram, meta, openSink, point } from './testdata/harness.js';

const missing = timescaleDbMissing();

t.test('on a real TimescaleDB: migrated, healthy, each row once in the hypertables, rolled up by the continuous aggregate', { skip: missing }, async (t) => {
  const db = await withTimescaleDb(t);
  const { sink, handle } = await openSink(t, { url: db.url });
  t.equal(await handle.flavour(), 'timescaledb');
  await t.resolves(sink.healthcheck(), 'the health check passes on the hypertables');
  // Only the test refreshes metrics_1m: the policy's job is paused.
  await db.pool.query(`SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'`);

  const now = new Date();
  const bucketUs = (Math.floor(now.getTime() / 60_000) - 5) * 60_000 * 1000;
  const events = [
    point('cpu', { host: 'a' }, 1, bucketUs + 1_000_000),
    point('cpu', { host: 'a' }, 3, bucketUs + 30_000_000),
    point('cpu', { host: 'b' }, 5, bucketUs + 2_000_000),
    histogram('rpc_seconds', { svc: 'a' }, { count: 2, sum: 0.5, buckets: { '0.1': 1, '+Inf': 2 } }, bucketUs),
    event('deploy', { version: '1.2' }, bucketUs),
  ];
  const m = meta();
  await sink.write(events, m);
  await sink.write(events, { ...m, attempt: 2 });
  const count = async (table: string) => Number((await db.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  t.same(
    { points: await count('metrics_points'), histograms: await count('metrics_histogram'), events: await count('events_generic') },
    { points: 3, histograms: 1, events: 1 },
    'a replayed delivery writes nothing',
  );
  const chunks = await db.pool.query(`SELECT DISTINCT hypertable_name FROM timescaledb_information.chunks WHERE hypertable_schema = current_schema() ORDER BY 1`);
  t.same(chunks.rows.map((r) => r.hypertable_name), ['events_generic', 'metrics_histogram', 'metrics_points'], 'the rows are in hypertable chunks');

  const window = metrics1mRefreshWindow(now, DEFAULT_MIGRATION_PARAMS);
  await db.pool.query(`CALL refresh_continuous_aggregate('metrics_1m', $1::timestamptz, $2::timestamptz)`, [window.from, window.to]);
  const rollups = await db.pool.query('SELECT bucket, labels, avg_v, max_v, min_v FROM metrics_1m ORDER BY labels::text');
  t.same(rollups.rows, [
    { bucket: new Date(bucketUs / 1000), labels: { host: 'a' }, avg_v: 2, max_v: 3, min_v: 1 },
    { bucket: new Date(bucketUs / 1000), labels: { host: 'b' }, avg_v: 5, max_v: 5, min_v: 5 },
  ]);
  await t.resolves(sink.runMaintenance(), 'maintenance (ledger pruning only: TimescaleDB owns retention) runs on the hypertables');
});
