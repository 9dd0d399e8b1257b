/**
 * The TimescaleDB flavour against the real extension (TimescaleDB 2.26.4 on PostgreSQL 15, see
 * test/helpers/timescaledb.ts): migrations, hypertables, compression and retention policies, the
 * metrics_1m continuous aggregate and its refresh, and business events stored once on a hypertable.
 */
import t from 'tap';
import { migratePostgres } from '../../src/storage/postgres/migrate.js';
import { detectFlavour } from '../../src/storage/postgres/flavour.js';
import { SchemaRegistry, registerSchema } from '../../src/registry/index.js';
import { TypedTables } from '../../src/plugins/sinks/postgres/typed-tables.js';
import { timescaleDbMissing, withTimescaleDb } from '../helpers/timescaledb.js';

const missing = timescaleDbMissing();

t.test('migrations on a real TimescaleDB: hypertables, policies, continuous aggregate', { skip: missing }, async (t) => {
  const { pool } = await withTimescaleDb(t);
  const result = await migratePostgres(pool);
  t.equal(result.flavour, 'timescaledb');
  t.equal(await detectFlavour(pool), 'timescaledb');
  t.same((await migratePostgres(pool)).steps, [], 'a second run has nothing to do');

  const hypertables = await pool.query<{ hypertable_name: string; compression_enabled: boolean }>(
    'SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables ORDER BY hypertable_name',
  );
  const names = hypertables.rows.map((r) => r.hypertable_name);
  for (const table of ['events_generic', 'metrics_histogram', 'metrics_points']) t.ok(names.includes(table), `${table} is a hypertable`);
  t.ok(hypertables.rows.find((r) => r.hypertable_name === 'metrics_points')?.compression_enabled, 'metrics_points is compressed');

  const jobs = await pool.query<{ proc_name: string; hypertable_name: string; config: Record<string, string> }>(
    `SELECT j.proc_name, coalesce(c.view_name, j.hypertable_name) AS hypertable_name, j.config
       FROM timescaledb_information.jobs j
       LEFT JOIN timescaledb_information.continuous_aggregates c
         ON c.materialization_hypertable_name = j.hypertable_name
      WHERE j.proc_name IN ('policy_compression', 'policy_retention', 'policy_refresh_continuous_aggregate')`,
  );
  const policy = (proc: string, table: string) => jobs.rows.find((j) => j.proc_name === proc && j.hypertable_name === table)?.config;
  t.match(policy('policy_compression', 'metrics_points'), { compress_after: '7 days' });
  t.match(policy('policy_retention', 'metrics_points'), { drop_after: '30 days' });
  t.match(policy('policy_retention', 'metrics_histogram'), { drop_after: '30 days' });
  t.match(policy('policy_retention', 'events_generic'), { drop_after: '30 days' });
  t.match(policy('policy_retention', 'metrics_1m'), { drop_after: '90 days' });
  t.match(policy('policy_refresh_continuous_aggregate', 'metrics_1m'), { start_offset: '02:00:00', end_offset: '00:01:00' });

  const changed = await migratePostgres(pool, { params: { pg_points_retention_days: 14 } });
  t.match(changed.steps.map((s) => s.kind), ['repeatable'], 'a retention change re-runs the policies only');
  const after = await pool.query(
    `SELECT config->>'drop_after' AS drop_after FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = 'metrics_points'`,
  );
  t.equal(after.rows[0]?.drop_after, '14 days');

  // The continuous aggregate: points two minutes ago, refreshed by hand, appear in metrics_1m.
  const series = await pool.query<{ series_id: string }>(`INSERT INTO metric_series (metric_name, labels) VALUES ('cpu', '{"host":"a"}') RETURNING series_id`);
  const at = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
  await pool.query('INSERT INTO metrics_points (time, series_id, value) VALUES ($1, $2, 1), ($1, $2, 3)', [at, series.rows[0]?.series_id]);
  await pool.query(`CALL refresh_continuous_aggregate('metrics_1m', $1::timestamptz, $2::timestamptz)`, [new Date(at.getTime() - 60_000), new Date(at.getTime() + 60_000)]);
  const rollup = await pool.query('SELECT metric_name, avg_v, max_v, min_v FROM metrics_1m WHERE bucket = $1', [at]);
  t.same(rollup.rows, [{ metric_name: 'cpu', avg_v: 2, max_v: 3, min_v: 1 }]);
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
  const hyper = await pool.query(`SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_name = 'events_incident'`);
  t.equal(hyper.rowCount, 1, 'a hypertable');
  const job = await pool.query(`SELECT config->>'drop_after' AS drop_after FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = 'events_incident'`);
  t.equal(job.rows[0]?.drop_after, '14 days');
  t.same((await pool.query('SELECT sev, title, schema_version FROM events_incident')).rows, [{ sev: '2', title: 'db down', schema_version: '1.0' }]);
});
