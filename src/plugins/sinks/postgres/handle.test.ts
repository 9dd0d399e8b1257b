import pg from 'pg';
import t from 'tap';
import { withPostgres, eventually, startPipeline, tempDir, manualSource, manualSources } from '../../../testing/index.js';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { acquireEmbeddedPostgres, releaseEmbeddedPostgres } from '../../../storage/postgres/embedded.js';
import { createSink, meta, openSink, point } from './testdata/harness.js';

/** The connection the sink provides for the rollup exporter, and the health check. */

t.test('the handle is published at create and connects on first use, before start', async (t) => {
  const db = await withPostgres(t);
  const { sink, handle } = createSink(t, { url: db.url, retention: { points_days: 14, points_compress_after_days: 3 }, series_foreign_key: false });
  t.equal(handle.kind, 'postgres', 'provided as PostgresConnection at create');
  t.equal(handle.sink, 'pg');
  t.equal(handle.params.pg_points_retention_days, 14, 'the params the sink migrates with');
  t.equal(handle.params.series_foreign_key, false);
  const [pool, again] = await Promise.all([handle.pool(), handle.pool()]);
  t.equal(pool, again, 'one pool, shared');
  t.equal(await handle.flavour(), 'plain');
  const tables = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM pg_tables WHERE tablename IN ('metrics_points', 'thermocline_batches')`);
  t.equal(tables.rows[0]?.n, '2', 'migrated on first use');
  const fk = await pool.query(`SELECT 1 FROM pg_constraint WHERE conname = 'metrics_points_series_id_fkey'`);
  t.equal(fk.rowCount, 0, 'series_foreign_key = false creates the table without the foreign key');
  await sink.start();
  t.equal(await handle.pool(), pool, 'start reuses the connection the handle opened');
  await sink.write([point('m', {}, 1)], meta());
  await sink.stop();
  await t.rejects(handle.pool(), { code: 'TC_PG_SINK_STOPPED' }, 'after stop the handle says so');
});

t.test('the handle survives a failed first connection: the next call connects', async (t) => {
  const db = await withPostgres(t);
  // A database that does not exist yet: connecting fails until it is created.
  const url = db.url.replace(/\/[^/?]*$/, `/${db.database}_later`);
  const { handle, sink } = createSink(t, { url, connect_timeout: '2s' });
  await t.rejects(handle.pool(), { code: 'TC_PG_UNREACHABLE' });
  await t.rejects(sink.start(), { code: 'TC_PG_UNREACHABLE' });
  await db.pool.query(`CREATE DATABASE ${db.database}_later`);
  t.teardown(async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${db.database}_later WITH (FORCE)`);
    await admin.end();
  });
  await sink.start();
  t.equal((await (await handle.pool()).query('SELECT 1 AS one')).rows[0]?.one, 1);
  await sink.stop();
});

t.test('health check: connection, migrations and privileges', async (t) => {
  const db = await withPostgres(t);
  const owner = await openSink(t, { url: db.url });
  await owner.sink.healthcheck();
  t.pass('the owner of the tables is healthy');

  const role = `tc_limited_${db.database.slice(-6)}`;
  await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'limited'`);
  t.teardown(async () => {
    await db.pool.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    await db.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  });
  const limitedUrl = new URL(db.url);
  limitedUrl.username = role;
  limitedUrl.password = 'limited';
  const refused = createSink(t, { url: limitedUrl.toString(), migrate: false }, { id: 'refused' });
  await t.rejects(refused.sink.start(), {
    code: 'TC_PG_SINK_PRIVILEGE',
    message: /permission denied for table schema_migrations \(checking the schema needs SELECT on schema_migrations/,
  });
  await db.pool.query(
    `GRANT SELECT, INSERT ON metric_series, metrics_points, metrics_histogram, thermocline_batches TO ${role}; GRANT SELECT ON schema_migrations, metrics_1m TO ${role}`,
  );
  const limited = await openSink(t, { url: limitedUrl.toString(), migrate: false }, { id: 'limited' });
  await t.rejects(limited.sink.healthcheck(), {
    code: 'TC_PG_SINK_PRIVILEGE',
    message: new RegExp(
      `GRANT INSERT ON events_generic TO "${role}".*GRANT DELETE ON thermocline_batches.*GRANT DELETE ON metrics_1m.*GRANT USAGE ON SEQUENCE metric_series_series_id_seq`,
    ),
  });

  await db.pool.query(
    `GRANT INSERT ON events_generic TO ${role}; GRANT DELETE ON thermocline_batches, metrics_1m TO ${role}; GRANT USAGE ON SEQUENCE metric_series_series_id_seq TO ${role}`,
  );
  await t.rejects(limited.sink.healthcheck(), {
    code: 'TC_PG_SINK_PRIVILEGE',
    message: /does not own metrics_points, metrics_histogram, events_generic, so it cannot create or drop their daily partitions/,
  });
  await db.pool.query(
    `GRANT ${(await db.pool.query<{ o: string }>(`SELECT tableowner AS o FROM pg_tables WHERE tablename = 'metrics_points'`)).rows[0]?.o} TO ${role}`,
  );
  await limited.sink.healthcheck();
  t.pass('healthy once granted');
});

t.test('migrate = false refuses to start on a database that is not migrated', async (t) => {
  const db = await withPostgres(t);
  const { sink } = createSink(t, { url: db.url, migrate: false });
  await t.rejects(sink.start(), { code: 'TC_PG_SINK_NOT_MIGRATED', message: /lacks 0001_extensions\.plain\.sql, 0002_metric_series\.sql/ });
  const tables = await db.pool.query(`SELECT 1 FROM pg_tables WHERE tablename = 'metric_series'`);
  t.equal(tables.rowCount, 0, 'and changes nothing');
});

t.test('url = "embedded": the agent runs its own PostgreSQL and the points land there', async (t) => {
  const dataDir = tempDir(t, 'thermocline-pg-embedded-');
  const { runtime } = await startPipeline(
    t,
    `
[sources.in]
type = "manual"

[sinks.pg]
type = "postgres"
inputs = ["in"]
url = "embedded"
batch = { max_events = 100, timeout_secs = 0.05 }
`,
    { extra: [manualSource], dataDir },
  );
  await eventually(() => runtime.statuses().find((s) => s.id === 'pg')?.state === 'running', 60_000, 'the embedded server');
  await manualSources.get('in')?.emit([point('embedded_up', { a: 'b' }, 1)]);
  await eventually(() => runtime.queueOf('pg')?.events === 0, 20_000, 'delivery');
  // The server is shared process-wide per data_dir: joining it gives its URL.
  const server = await acquireEmbeddedPostgres(dataDir);
  t.teardown(() => releaseEmbeddedPostgres(dataDir));
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  t.teardown(() => client.end());
  const { rows } = await client.query<{ value: number; metric_name: string }>(
    'SELECT p.value, s.metric_name FROM metrics_points p JOIN metric_series s USING (series_id)',
  );
  t.same(rows, [{ value: 1, metric_name: 'embedded_up' }]);
});
