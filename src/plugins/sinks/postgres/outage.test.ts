import pg from 'pg';
import t from 'tap';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { ApiServer } from '../../../core/api/server.js';
import { manualSource, manualSources, eventually, startPipeline } from '../../../testing/index.js';
import { point } from './testdata/harness.js';
import { restartablePostgres } from './testdata/restartable-postgres.js';

/**
 * A database that is down for minutes only grows the queue
 * (docs/delivery.md#when-a-destination-is-down). The server is really stopped (fast shutdown:
 * sessions terminated, then connections refused) and started again on the same port, under the
 * real runtime.
 */

/** A fresh connection per question, so the check itself does not depend on a pool's state. */
async function ask<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[] | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query<T>(sql)).rows;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const TOTAL = 12_000;

t.test('the server stopped mid-stream and restarted: nothing lost, nothing twice', async (t) => {
  const server = await restartablePostgres(t);
  const { runtime } = await startPipeline(
    t,
    `
[sources.gen]
type = "generator"
rate = 3000
count = ${TOTAL}
batch_size = 100
kinds = ["metric"]

[sinks.pg]
type = "postgres"
inputs = ["gen"]
url = ${JSON.stringify(server.url)}
connect_timeout = "2s"
batch = { max_events = 500, timeout_secs = 0.05 }
retry = { initial_backoff_secs = 0.2, max_backoff_secs = 1 }
`,
  );
  const landed = async () => Number((await ask<{ n: string }>(server.url, 'SELECT count(*) AS n FROM metrics_points'))?.[0]?.n ?? -1);
  await eventually(async () => (await landed()) >= 1500, 30_000, 'the first points');
  await server.stop();
  await eventually(() => runtime.statuses().find((s) => s.id === 'pg')?.state === 'degraded', 10_000, 'the sink to report the outage');
  await new Promise((r) => setTimeout(r, 1500));
  t.ok((runtime.queueOf('pg')?.events ?? 0) > 0, 'the queue holds the undelivered points meanwhile');
  await server.start();
  await eventually(async () => (await landed()) >= TOTAL, 60_000, 'every point');
  const rows = await ask<{ n: string; seqs: string; lo: string; hi: string; series: string }>(
    server.url,
    `SELECT count(*) AS n, count(DISTINCT s.labels->>'seq') AS seqs, min((s.labels->>'seq')::int) AS lo, max((s.labels->>'seq')::int) AS hi,
            count(DISTINCT p.series_id) AS series
       FROM metrics_points p JOIN metric_series s USING (series_id)`,
  );
  t.same(rows?.[0], { n: String(TOTAL), seqs: String(TOTAL), lo: 0, hi: TOTAL - 1, series: String(TOTAL) }, 'each generated point exactly once');
  t.equal(runtime.store.deadLetterCount('pg'), 0, 'nothing dead-lettered');
  await eventually(() => runtime.statuses().find((s) => s.id === 'pg')?.state === 'running', 10_000, 'the sink to recover');
});

t.test('the database down at start: the sink is failed in /health, data queues, and it recovers', async (t) => {
  const server = await restartablePostgres(t);
  await server.stop();
  const { runtime } = await startPipeline(
    t,
    `
[sources.in]
type = "manual"

[sinks.pg]
type = "postgres"
inputs = ["in"]
url = ${JSON.stringify(server.url)}
connect_timeout = "1s"
batch = { max_events = 1000, timeout_secs = 0.05 }
`,
    { extra: [manualSource] },
  );
  const api = new ApiServer(() => runtime);
  const { port } = await api.listen('127.0.0.1:0');
  t.teardown(() => api.close());
  const health = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    return { status: res.status, body: (await res.json()) as { failing: Array<{ id: string; state: string; error: string }> } };
  };
  const down = await health();
  t.equal(down.status, 503);
  t.equal(down.body.failing[0]?.id, 'pg');
  t.equal(down.body.failing[0]?.state, 'failed');
  t.match(down.body.failing[0]?.error, /cannot reach PostgreSQL at postgres:\/\/postgres:\*+@127\.0\.0\.1/, 'the error names the server, without the password');

  await manualSources.get('in')?.emit(Array.from({ length: 250 }, (_, i) => point('queued', { i: String(i) }, i)));
  t.equal(runtime.queueOf('pg')?.events, 250, 'the events wait in the queue');

  await server.start();
  await eventually(async () => (await health()).status === 200, 90_000, 'the sink to start');
  await eventually(() => runtime.queueOf('pg')?.events === 0, 10_000, 'the queue to drain');
  const rows = await ask<{ n: string }>(server.url, 'SELECT count(*) AS n FROM metrics_points');
  t.equal(rows?.[0]?.n, '250', 'every queued point landed');
});
