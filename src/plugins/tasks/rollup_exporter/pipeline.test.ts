/**
 * The exporter inside the real runtime: points go through the `postgres` sink, the exporter reuses
 * the `postgres` and `clickhouse` sinks' connections by name, runs its own loop (no inputs, no
 * queue), keeps its watermark in the state database, and reports failures without stopping.
 * The runtime's clock is the real one here, so points are written a few minutes in the past.
 */
import t from 'tap';
import { type MetricPoint, ThermoclineError } from '../../../index.js';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { componentsView } from '../../../core/api/components.js';
import { migrateClickHouse } from '../../../storage/index.js';
import { manualSource, manualSources, eventually, loadTestConfig, startPipeline, tempDir, withClickHouse, withPostgres } from '../../../testing/index.js';
import type { ChEndpoint, PgEndpoint } from './endpoints.js';
import { MINUTE, chUrlFor, chBucket, assertSameRollups } from './testdata/harness.js';

const realMinutesAgo = (n: number) => Math.floor(Date.now() / MINUTE) * MINUTE - n * MINUTE;

function point(name: string, labels: Record<string, string>, time: number, value: number): MetricPoint {
  return { kind: 'metric', type: 'gauge', name, labels, time_us: time * 1000, value };
}

async function engines(t: Parameters<typeof withPostgres>[0] & object) {
  const [db, ch] = await Promise.all([withPostgres(t), withClickHouse(t)]);
  const chUrl = chUrlFor(ch);
  const pg: PgEndpoint = { pool: db.pool, flavour: 'plain', params: { pg_cagg_start_offset_minutes: 120, pg_cagg_end_offset_minutes: 1 }, display: 'test' };
  const chEndpoint: ChEndpoint = { client: ch.client, database: ch.database, engine: ch.mode === 'embedded' ? 'embedded' : 'server', display: 'test' };
  return { db, ch, chUrl, pg, chEndpoint };
}

const toml = (pgUrl: string, chUrl: string, exporter = 'postgres = "pg"\nclickhouse = "ch"') => `
[sources.metrics]
type = "manual"
[sources.logs]
type = "manual"

[sinks.pg]
type = "postgres"
inputs = ["metrics"]
url = ${JSON.stringify(pgUrl)}
batch = { timeout_secs = 0.05 }

[sinks.ch]
type = "clickhouse"
inputs = ["logs"]
url = ${JSON.stringify(chUrl)}

[tasks.rollups]
type = "rollup_exporter"
interval = "1s"
${exporter}
`;

t.test('points written through the postgres sink reach ClickHouse metrics_1m; late points change the bucket', async (t) => {
  const e = await engines(t);
  if (!e.chUrl) return void t.pass('skipped: the testcontainers ClickHouse does not expose its url; run with CH_URL');
  const { runtime } = await startPipeline(t, toml(e.db.url, e.chUrl), { extra: [manualSource] });
  await eventually(() => manualSources.has('metrics'), 10_000, 'the source');
  const bucket = realMinutesAgo(3);
  await manualSources
    .get('metrics')
    ?.emit([
      point('cpu_usage', { host: 'a', core: '0' }, bucket, 0.5),
      point('cpu_usage', { host: 'a', core: '0' }, bucket + 15_000, 0.25),
      point('cpu_usage', { host: 'b', core: '10' }, bucket + 30_000, 1e-7),
      point('cpu_usage', { host: 'a', core: '0' }, bucket - MINUTE, 2),
    ]);
  await eventually(async () => (await chBucket(e, bucket, 'cpu_usage')).length === 2, 30_000, 'the bucket in ClickHouse');
  t.same(await chBucket(e, bucket, 'cpu_usage'), [
    { labels: '{"core":"0","host":"a"}', avg_v: 0.375, max_v: 0.5, min_v: 0.25 },
    { labels: '{"core":"10","host":"b"}', avg_v: 1e-7, max_v: 1e-7, min_v: 1e-7 },
  ]);

  // Late points for a bucket that was already exported.
  await manualSources.get('metrics')?.emit([point('cpu_usage', { host: 'a', core: '0' }, bucket + 45_000, 3.25)]);
  await eventually(async () => (await chBucket(e, bucket, 'cpu_usage'))[0]?.max_v === 3.25, 30_000, 'the re-export');
  t.same((await chBucket(e, bucket, 'cpu_usage'))[0], { labels: '{"core":"0","host":"a"}', avg_v: 4 / 3, max_v: 3.25, min_v: 0.25 });
  await assertSameRollups(t, e, bucket - 2 * MINUTE, realMinutesAgo(0));

  const view = componentsView(runtime) as Array<{ id: string; state: string; stored_state?: Record<string, unknown>; queue?: unknown; sent_events: number }>;
  const rollups = view.find((c) => c.id === 'rollups');
  t.equal(rollups?.state, 'running');
  t.equal(rollups?.queue, undefined, 'no queue');
  t.match(
    rollups?.stored_state,
    { watermark: /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/, version: Number, last_export: { rows: Number } },
    '/components shows the watermark',
  );
  t.ok((rollups?.sent_events ?? 0) >= 4, 'rows exported are counted as sent');
});

t.test('the exporter takes no inputs and names sinks of the right type', async (t) => {
  const dataDir = tempDir(t);
  // An http url: this process's embedded engine is bound to the test engine's directory.
  const base = `[sources.metrics]\ntype = "manual"\n[sinks.pg]\ntype = "postgres"\ninputs = ["metrics"]\n[sinks.ch]\ntype = "clickhouse"\ninputs = ["metrics"]\nurl = "http://127.0.0.1:1/db"\n`;
  const load = (exporter: string) => loadTestConfig(`${base}[tasks.rollups]\ntype = "rollup_exporter"\n${exporter}`, { dataDir, extra: [manualSource] });
  await t.resolves(load('postgres = "pg"\nclickhouse = "ch"'), 'names of sinks');
  await t.resolves(load('postgres = "postgres://u:p@127.0.0.1:5432/db"\nclickhouse = "http://127.0.0.1:8123/db"'), 'URLs');
  await t.rejects(load('postgres = "pg"\nclickhouse = "ch"\ninputs = ["metrics"]'), { code: 'TC_CONFIG_INVALID', message: /tasks\.rollups\.inputs: unknown key "inputs"/ });
  await t.rejects(load('postgres = "nope"\nclickhouse = "ch"'), { code: 'TC_TOPOLOGY', message: /tasks\.rollups\.?: refers to "nope", which is not a sink in this config/ });
  await t.rejects(load('postgres = "not a url!"\nclickhouse = "ftp://x"'), {
    message: /tasks\.rollups\.postgres: "not a url!" is neither a URL nor the id of a postgres sink[\s\S]*tasks\.rollups\.clickhouse: unsupported scheme ftp:/,
  });
  await t.rejects(load('postgres = "pg"\nclickhouse = "ch"\ninterval = "10ms"'), { message: /tasks\.rollups\.interval: must be at least 1s/ });

  const err = await startPipeline(t, `${base}[tasks.rollups]\ntype = "rollup_exporter"\npostgres = "ch"\nclickhouse = "pg"\n`, { dataDir, extra: [manualSource] }).catch((e: unknown) => e);
  t.match(err, { code: 'TC_PLUGIN_CREATE', message: /postgres = "ch": that component offers no postgres\.connection \(it is not a running postgres sink\); name a postgres sink/ });
  t.equal(((err as ThermoclineError).cause as ThermoclineError | undefined)?.code, 'TC_CAGG_WRONG_SINK');
});

t.test('a failing cycle is logged and counted, and the next cycles recover by themselves (URLs)', async (t) => {
  const e = await engines(t);
  if (!e.chUrl) return void t.pass('skipped: the testcontainers ClickHouse does not expose its url; run with CH_URL');
  // PostgreSQL migrated by the postgres sink; ClickHouse not migrated yet (no clickhouse sink).
  const config = `[sources.metrics]\ntype = "manual"\n[sinks.pg]\ntype = "postgres"\ninputs = ["metrics"]\nurl = ${JSON.stringify(e.db.url)}\nbatch = { timeout_secs = 0.05 }\n[tasks.rollups]\ntype = "rollup_exporter"\ninterval = "1s"\npostgres = ${JSON.stringify(e.db.url)}\nclickhouse = ${JSON.stringify(e.chUrl)}\n`;
  const { runtime, logs } = await startPipeline(t, config, { extra: [manualSource] });
  await eventually(() => manualSources.has('metrics'), 10_000, 'the source');
  const bucket = realMinutesAgo(2);
  await manualSources.get('metrics')?.emit([point('mem', {}, bucket, 7)]);
  await eventually(() => logs.lines.some((l) => /^rollup export failed, retrying in 1 s/.test(String(l.msg))), 20_000, 'the failure log');
  const failure = logs.lines.find((l) => /^rollup export failed/.test(String(l.msg)));
  t.match(failure, { level: 50, err: { code: 'TC_CAGG_SCHEMA' }, msg: /does not exist: run `thermocline migrate/ });
  t.match(await runtime.metrics.text(), /thermocline_component_errors_total\{component_id="rollups",component_kind="task",component_type="rollup_exporter",error_type="cycle"\} [1-9]/);
  const status = runtime.statuses().find((s) => s.id === 'rollups');
  t.equal(status?.state, 'degraded', 'the health check at start found the missing table');
  t.match(status?.error, /metrics_1m .*does not exist/);

  await migrateClickHouse(e.ch.client, { database: e.ch.database });
  await eventually(async () => (await chBucket(e, bucket, 'mem')).length === 1, 30_000, 'the export after the migration');
  await eventually(() => logs.messages().includes('rollup export recovered'), 10_000, 'the recovery line');
  const failures = logs.lines.filter((l) => /^rollup export failed/.test(String(l.msg))).length;
  t.ok(failures <= 6, `failure logs are rate-limited (${failures})`);
});

t.test('an unreachable database is a failed start, retried in the background; stop does not wait for it', async (t) => {
  const dataDir = tempDir(t);
  const { runtime, logs } = await startPipeline(
    t,
    `[tasks.rollups]\ntype = "rollup_exporter"\ninterval = "1s"\npostgres = "postgres://nobody:x@127.0.0.1:1/none"\nclickhouse = "http://127.0.0.1:1/none"\n`,
    { dataDir },
  );
  const status = runtime.statuses().find((s) => s.id === 'rollups');
  t.equal(status?.state, 'failed');
  t.match(status?.error, /cannot reach (PostgreSQL|ClickHouse)/);
  await runtime.stop();
  t.equal(status?.state, 'stopped');
  t.notOk(logs.messages().includes('component did not stop within the shutdown timeout'), 'stopped within the deadline');
});
