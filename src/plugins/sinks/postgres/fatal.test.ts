import pg from 'pg';
import t from 'tap';
import { eventually, manualSource, manualSources, startPipeline } from '../../../testing/index.js';
import { faultProxy } from './testdata/fault-proxy.js';
import { point } from './testdata/harness.js';
import { restartablePostgres } from './testdata/restartable-postgres.js';

/**
 * A PostgreSQL that ends sessions with FATAL, at connect, in the middle of the migrations and in
 * the middle of a COPY, and a server SIGKILLed under load: the agent (this test process, which
 * runs it) stays alive, the sink retries, and every event lands exactly once. Before every pg
 * client had an 'error' listener, the first FATAL on a checked-out connection ended the process.
 */

async function count(url: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return Number((await client.query<{ n: string }>(sql)).rows[0]?.n ?? -1);
  } catch {
    return -1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const sink = (url: string) => `
[sinks.pg]
type = "postgres"
inputs = ["in"]
url = ${JSON.stringify(url)}
connect_timeout = "2s"
batch = { max_events = 100, timeout_secs = 0.05 }
retry = { initial_backoff_secs = 0.1, max_backoff_secs = 0.5 }
`;

t.test('FATAL at connect, mid-migration and mid-COPY: the agent lives, retries, and stores everything once', async (t) => {
  const server = await restartablePostgres(t);
  const proxy = await faultProxy(t, server.url);
  proxy.inject({ at: 'connect', times: 2 });
  proxy.inject({ at: 'query', sql: /^\s*CREATE TABLE/i, times: 1 });
  proxy.inject({ at: 'query', sql: /^COPY /i, times: 2 });
  const { runtime } = await startPipeline(t, `[sources.in]\ntype = "manual"\n${sink(proxy.url)}`, { extra: [manualSource] });
  const src = manualSources.get('in')!;
  for (let b = 0; b < 10; b++) await src.emit(Array.from({ length: 50 }, (_, i) => point('fatal_test', { seq: String(b * 50 + i) }, i)));
  await eventually(async () => (await count(server.url, 'SELECT count(*) AS n FROM metrics_points')) >= 500, 60_000, 'every point');
  t.same(
    proxy.fired.map((f) => f.at),
    ['connect', 'connect', 'query', 'query', 'query'],
    'every fault fired',
  );
  t.match(proxy.fired[2]?.sql, /^\s*CREATE TABLE/i, 'one in the migrations');
  t.match(proxy.fired[3]?.sql, /^COPY /, 'two in the middle of a COPY');
  t.equal(await count(server.url, 'SELECT count(*) AS n FROM metrics_points'), 500, 'no point twice');
  t.equal(
    await count(server.url, "SELECT count(DISTINCT s.labels->>'seq') AS n FROM metrics_points p JOIN metric_series s USING (series_id)"),
    500,
    'each point once',
  );
  t.equal(runtime.store.deadLetterCount('pg'), 0, 'nothing dead-lettered');
  await eventually(() => runtime.statuses().find((s) => s.id === 'pg')?.state === 'running', 10_000, 'the sink healthy again');
});

t.test('the server SIGKILLed under load and started again: the agent lives and nothing is lost or doubled', async (t) => {
  // Commits must be in the WAL when acknowledged, as on a production server: the kill loses the
  // server's memory. fsync stays off: the operating system's cache survives a process kill.
  const server = await restartablePostgres(t, { synchronous_commit: 'on' });
  const TOTAL = 6000;
  const { runtime } = await startPipeline(
    t,
    `[sources.in]\ntype = "generator"\nrate = 2000\ncount = ${TOTAL}\nbatch_size = 100\nkinds = ["metric"]\n${sink(server.url)}`,
  );
  const points = () => count(server.url, 'SELECT count(*) AS n FROM metrics_points');
  await eventually(async () => (await points()) >= 1000, 30_000, 'the first points');
  await server.kill();
  await new Promise((r) => setTimeout(r, 1000));
  await server.start();
  await eventually(async () => (await points()) >= TOTAL, 60_000, 'every point');
  t.equal(
    await count(server.url, "SELECT count(DISTINCT s.labels->>'seq') AS n FROM metrics_points p JOIN metric_series s USING (series_id)"),
    TOTAL,
    'each point once',
  );
  t.equal(await points(), TOTAL);
  t.equal(runtime.store.deadLetterCount('pg'), 0, 'nothing dead-lettered');
});
