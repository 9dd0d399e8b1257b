import pg from 'pg';
import t from 'tap';
import { detectFlavour } from '../../src/storage/postgres/flavour.js';
import { maintainPlainFlavour } from '../../src/storage/postgres/maintenance.js';
import { migratePostgres } from '../../src/storage/postgres/migrate.js';
import { type PartitionedTable, dropPartitionsOlderThan, ensurePartitions, listPartitions } from '../../src/storage/postgres/partitions.js';
import { metrics1mRefreshWindow, refreshMetrics1m } from '../../src/storage/postgres/rollup.js';
import { withPostgres } from '../helpers/postgres.js';

/** What these helpers need of a tap test. */
type Teardown = { teardown(fn: () => unknown): void };

const day = (iso: string) => new Date(`${iso}T00:00:00Z`);
const NOW = new Date('2026-03-10T12:00:00Z');

/** A migrated plain-flavour database, or a skip on a TimescaleDB server. */
async function plainDatabase(t: Teardown) {
  const db = await withPostgres(t);
  await migratePostgres(db.pool, { flavour: 'plain', now: NOW, params: { pg_partition_premake_days: 1 } });
  return db;
}

t.test('ensurePartitions creates missing days once and is idempotent', async (t) => {
  const db = await plainDatabase(t);
  const created = await ensurePartitions(db.pool, { table: 'metrics_points', from: new Date('2026-03-12T23:59:00Z'), to: new Date('2026-03-14T00:00:00Z') });
  t.same(created, ['metrics_points_p20260312', 'metrics_points_p20260313', 'metrics_points_p20260314']);
  t.same(await ensurePartitions(db.pool, { table: 'metrics_points', from: day('2026-03-12'), to: day('2026-03-14') }), []);
  const p = (await listPartitions(db.pool, 'metrics_points')).find((x) => x.name === 'metrics_points_p20260313');
  t.same(p && { from: p.from.toISOString(), to: p.to.toISOString() }, { from: '2026-03-13T00:00:00.000Z', to: '2026-03-14T00:00:00.000Z' });

  await db.pool.query(`INSERT INTO metric_series (metric_name, labels) VALUES ('cpu', '{}')`);
  await t.resolves(db.pool.query(`INSERT INTO metrics_points VALUES ('2026-03-13T23:59:59.999Z', 1, 1), ('2026-03-14T00:00:00Z', 1, 2)`), 'bounds are UTC days');
  await t.rejects(db.pool.query(`INSERT INTO metrics_points VALUES ('2026-04-01T00:00:00Z', 1, 1)`), { code: '23514' }, 'no DEFAULT partition: a missing day is an error');
});

t.test('agents racing to create the same partitions all succeed, each partition created once', async (t) => {
  const db = await plainDatabase(t);
  const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: db.url, max: 1 }));
  t.teardown(() => Promise.all(pools.map((p) => p.end())));
  const results = await Promise.all(pools.map((pool) => ensurePartitions(pool, { table: 'events_generic', from: day('2026-05-01'), to: day('2026-05-05') })));
  const created = results.flat().sort();
  t.same(created, ['20260501', '20260502', '20260503', '20260504', '20260505'].map((d) => `events_generic_p${d}`), 'every day created by exactly one agent');
});

t.test('dropPartitionsOlderThan drops only partitions entirely before the cutoff', async (t) => {
  const db = await plainDatabase(t);
  await ensurePartitions(db.pool, { table: 'metrics_histogram', from: day('2026-02-01'), to: day('2026-02-03') });
  const dropped = await dropPartitionsOlderThan(db.pool, 'metrics_histogram', new Date('2026-02-03T06:00:00Z'));
  t.same(dropped, ['metrics_histogram_p20260201', 'metrics_histogram_p20260202']);
  const left = (await listPartitions(db.pool, 'metrics_histogram')).map((p) => p.name);
  t.ok(left.includes('metrics_histogram_p20260203'), 'the day containing the cutoff stays');
  t.same(await dropPartitionsOlderThan(db.pool, 'metrics_histogram', new Date('2026-02-03T06:00:00Z')), []);
});

t.test('partitions the agent did not name are left alone', async (t) => {
  const db = await plainDatabase(t);
  await db.pool.query(`CREATE TABLE metrics_points_archive PARTITION OF metrics_points FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')`);
  t.notOk((await listPartitions(db.pool, 'metrics_points')).some((p) => p.name === 'metrics_points_archive'));
  await dropPartitionsOlderThan(db.pool, 'metrics_points', new Date('2030-01-01'));
  const { rows } = await db.pool.query(`SELECT to_regclass('metrics_points_archive') IS NOT NULL AS present`);
  t.same(rows, [{ present: true }]);
});

t.test('a lock held on the parent times out with a retryable, typed error', async (t) => {
  const db = await plainDatabase(t);
  const holder = await db.pool.connect();
  t.teardown(() => holder.release());
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE metrics_points IN ACCESS EXCLUSIVE MODE');
  const other = new pg.Pool({ connectionString: db.url, max: 1 });
  t.teardown(() => other.end());
  await t.rejects(ensurePartitions(other, { table: 'metrics_points', from: day('2026-07-01'), to: day('2026-07-01'), lockTimeoutMs: 200 }), {
    code: 'TC_PG_PARTITION_LOCK_TIMEOUT',
  });
  await holder.query('ROLLBACK');
});

t.test('arguments are checked', async (t) => {
  const db = await plainDatabase(t);
  const bad = (args: Parameters<typeof ensurePartitions>[1]) => t.rejects(ensurePartitions(db.pool, args), { code: 'TC_PG_PARTITION_ARGS_INVALID' });
  await bad({ table: 'metric_series' as PartitionedTable, from: NOW, to: NOW });
  await bad({ table: 'metrics_points', from: day('2026-03-02'), to: day('2026-03-01') });
  await bad({ table: 'metrics_points', from: new Date('nope'), to: NOW });
  await t.rejects(dropPartitionsOlderThan(db.pool, 'metrics_points', new Date(Number.NaN)), { code: 'TC_PG_PARTITION_ARGS_INVALID' });
  await db.pool.query('DROP TABLE events_generic CASCADE');
  await db.pool.query('CREATE TABLE events_generic (ts timestamptz)');
  await t.rejects(ensurePartitions(db.pool, { table: 'events_generic', from: NOW, to: NOW }), { code: 'TC_PG_PARTITION_ARGS_INVALID', message: /not partitioned/ });
});

t.test('maintenance: retention drops old partitions and rollups, creates the days ahead', async (t) => {
  const db = await plainDatabase(t);
  if ((await detectFlavour(db.pool)) !== 'plain') t.comment('TimescaleDB server, plain flavour forced');
  await ensurePartitions(db.pool, { table: 'events_generic', from: day('2026-01-01'), to: day('2026-01-02') });
  await db.pool.query(`INSERT INTO metrics_1m VALUES ('2025-01-01T00:00:00Z', 'old', '{}', 1, 1, 1), ('2026-03-10T11:00:00Z', 'new', '{}', 1, 1, 1)`);
  const later = new Date('2026-03-12T12:00:00Z');
  const plan = await maintainPlainFlavour(db.pool, { now: later, dryRun: true, params: { pg_partition_premake_days: 1 } });
  const steps = await maintainPlainFlavour(db.pool, { now: later, params: { pg_partition_premake_days: 1 } });
  t.same(plan.map((s) => s.id).sort(), steps.map((s) => s.id).sort(), 'the dry run announced exactly this');
  const names = steps.map((s) => s.name);
  t.ok(names.includes('drop partition events_generic_p20260101 (older than 2026-02-10T12:00:00.000Z)'));
  t.ok(names.includes('create partition metrics_points_p20260313'));
  t.ok(names.some((n) => /^delete metrics_1m rows older than 2025-12-12T12:00:00.000Z \(1 rows\)$/.test(n)));
  const { rows } = await db.pool.query('SELECT metric_name FROM metrics_1m');
  t.same(rows, [{ metric_name: 'new' }]);
  t.same(await maintainPlainFlavour(db.pool, { now: later, params: { pg_partition_premake_days: 1 } }), [], 'idempotent');
});

t.test('refreshMetrics1m recomputes whole buckets, folding in late points', async (t) => {
  const db = await plainDatabase(t);
  await db.pool.query(`INSERT INTO metric_series (metric_name, labels) VALUES ('cpu', '{"z":"1","a":"2"}'), ('up', '{}')`);
  await db.pool.query(`INSERT INTO metrics_points VALUES
    ('2026-03-10T11:00:05Z', 1, 1), ('2026-03-10T11:00:55Z', 1, 3), ('2026-03-10T11:01:00Z', 1, 10), ('2026-03-10T11:00:30Z', 2, 1)`);
  const window = metrics1mRefreshWindow(NOW, { pg_cagg_start_offset_minutes: 120, pg_cagg_end_offset_minutes: 1 });
  t.same(window, { from: new Date('2026-03-10T10:00:00Z'), to: new Date('2026-03-10T11:59:00Z') });
  t.equal(await refreshMetrics1m(db.pool, window), 3);
  await db.pool.query(`INSERT INTO metrics_points VALUES ('2026-03-10T11:00:40Z', 1, 5)`);
  t.equal(await refreshMetrics1m(db.pool, window), 3, 'a re-refresh rewrites the window');
  const { rows } = await db.pool.query(`SELECT bucket, metric_name, labels, avg_v, max_v, min_v FROM metrics_1m ORDER BY bucket, metric_name`);
  t.same(rows, [
    { bucket: new Date('2026-03-10T11:00:00Z'), metric_name: 'cpu', labels: { a: '2', z: '1' }, avg_v: 3, max_v: 5, min_v: 1 },
    { bucket: new Date('2026-03-10T11:00:00Z'), metric_name: 'up', labels: {}, avg_v: 1, max_v: 1, min_v: 1 },
    { bucket: new Date('2026-03-10T11:01:00Z'), metric_name: 'cpu', labels: { a: '2', z: '1' }, avg_v: 10, max_v: 10, min_v: 10 },
  ]);
  t.equal(await refreshMetrics1m(db.pool, { from: NOW, to: NOW }), 0, 'an empty window does nothing');
});
