/**
 * The sink inside the real runtime (startPipeline): queue → batches → write → ack, dead-lettered
 * rejections, a missing table that keeps the data queued until it exists, the one-chdb-directory
 * rule as a configuration error, and the handle the rollup exporter will use.
 */
import t from 'tap';
import { z } from 'zod';
import { defineTask, type TelemetryEvent, ThermoclineError } from '../../../index.js';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { decodeBatch } from '../../../core/codec/batch.js';
import { migrateClickHouse } from '../../../storage/index.js';
import { manualSource, manualSources, eventually, startPipeline, tempDir } from '../../../testing/index.js';
import { ClickHouseConnection } from './api.js';
import { BASE_US, count, createTable, log, select, span, target } from './testdata/harness.js';

const sinkToml = (url: string, extra = '') => `
[sources.src]
type = "manual"

[sinks.ch]
type = "clickhouse"
inputs = ["src"]
url = ${JSON.stringify(url)}
batch = { timeout_secs = 0.05 }
retry = { initial_backoff_secs = 0.05, max_backoff_secs = 0.2 }
${extra}
`;

async function emit(events: TelemetryEvent[]): Promise<void> {
  await eventually(() => manualSources.has('src'), 10_000, 'the manual source');
  await manualSources.get('src')?.emit(events);
}

t.test('from the queue into ClickHouse: logs, spans, metrics; unmapped kinds dead-lettered', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const db = tg.ch.database;
  await createTable(tg.ch, 'metrics_raw');
  const { runtime } = await startPipeline(t, sinkToml(tg.url, 'tables = { metric = "metrics_raw" }'), { extra: [manualSource] });
  await emit([
    ...Array.from({ length: 300 }, (_, i) => log(i)),
    span(1, { events: [{ time_us: BASE_US + 5, name: 'cache miss', attr: { key: 'cart:1' } }] }),
    { kind: 'metric', type: 'gauge', name: 'queue_depth', labels: { queue: 'a' }, time_us: BASE_US + 1000, value: Number.NaN },
    {
      kind: 'metric',
      type: 'histogram',
      name: 'latency_seconds',
      labels: {},
      time_us: BASE_US + 2000,
      histogram: { count: 3, sum: 0.75, buckets: { '0.1': 1, '1': 3, '+Inf': 3 } },
    },
    { kind: 'event', type: 'deploy', service: 'checkout', severity: 'info', time_us: BASE_US, payload: { version: '1.2.3' } },
  ]);
  await eventually(async () => (await count(tg.ch, 'logs_events')) === 300 && runtime.store.deadLetterCount('ch') === 1, 20_000, 'the delivery');
  t.equal(await count(tg.ch, 'spans'), 1);
  t.equal(await count(tg.ch, 'span_events'), 1);
  t.same(
    await select(
      tg.ch,
      `SELECT toString(toUnixTimestamp64Milli(time)) AS ms, metric_name, type, labels, toString(value) AS value, toString(count) AS count, sum, CAST(buckets, 'Map(String, String)') AS buckets FROM ${db}.metrics_raw ORDER BY time`,
    ),
    [
      { ms: String((BASE_US + 1000) / 1000), metric_name: 'queue_depth', type: 'gauge', labels: { queue: 'a' }, value: 'nan', count: '0', sum: 0, buckets: {} },
      {
        ms: String((BASE_US + 2000) / 1000),
        metric_name: 'latency_seconds',
        type: 'histogram',
        labels: {},
        value: '0',
        count: '3',
        sum: 0.75,
        buckets: { '0.1': '1', '1': '3', '+Inf': '3' },
      },
    ],
    'metric points and histograms in the mapped table; a NaN gauge stays NaN',
  );
  const [dead] = runtime.store.deadLetters('ch');
  t.equal(dead?.events, 1, 'the business event is in the dead-letter table');
  t.match(JSON.parse(dead?.rows ?? '[]'), [{ reason: /no table for "event" events: set tables\.event/ }]);
  t.match(decodeBatch(dead?.data ?? Buffer.alloc(0)), [{ kind: 'event', type: 'deploy' }], 'with the event itself');
  t.equal(runtime.queueOf('ch')?.events, 0, 'the queue is empty');
});

t.test('a missing table: degraded, data kept in the queue, delivered once the table exists', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const { runtime, logs } = await startPipeline(t, sinkToml(tg.url, 'migrate = false'), { extra: [manualSource] });
  await emit(Array.from({ length: 50 }, (_, i) => log(i)));
  const status = () => runtime.statuses().find((s) => s.id === 'ch');
  await eventually(() => status()?.state === 'degraded' && (runtime.queueOf('ch')?.events ?? 0) === 50, 10_000, 'degraded with the events queued');
  t.match(status()?.error, /UNKNOWN_TABLE/, '/health names the problem');
  t.ok(
    logs.lines.some((l) => l.code === 'TC_CH_SCHEMA_MISMATCH' && /thermocline migrate/.test(String(l.hint))),
    'the log has the code and the hint',
  );
  t.equal(runtime.store.deadLetterCount('ch'), 0, 'nothing dead-lettered');

  await migrateClickHouse(tg.ch.client, { database: tg.ch.database });
  await eventually(async () => (await count(tg.ch, 'logs_events')) === 50 && status()?.state === 'running', 20_000, 'delivery after the migration');
  t.equal(runtime.queueOf('ch')?.events, 0, 'the queue drained');
});

t.test('two chdb directories in one agent: a configuration error', async (t) => {
  const dir = tempDir(t);
  const toml = `
[sources.src]
type = "manual"
[sinks.a]
type = "clickhouse"
inputs = ["src"]
url = "chdb://one"
[sinks.b]
type = "clickhouse"
inputs = ["src"]
url = "chdb://two"
`;
  const err = await startPipeline(t, toml, { dataDir: dir, extra: [manualSource] }).catch((e: unknown) => e);
  t.match(err, { code: 'TC_PLUGIN_CREATE', message: /every chdb:\/\/ url of one agent must name the same directory/ });
  t.equal(((err as ThermoclineError).cause as ThermoclineError | undefined)?.code, 'TC_CHDB_PATH_CONFLICT');
});

t.test('the provided connection is typed and shared with other components', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const seen: Array<{ database: string; rows: number }> = [];
  // Stands in for the rollup exporter: a task, started after the sink, reads its handle.
  const probe = defineTask({
    type: 'handle_probe',
    summary: 'Test task: uses a clickhouse handle.',
    config: z.strictObject({}),
    uses: () => [{ key: ClickHouseConnection, from: 'ch' }],
    create: (_config, ctx) => ({
      async start() {
        const handle = ctx.use(ClickHouseConnection, 'ch');
        if (!handle) throw new Error('no clickhouse connection');
        const { client, database } = await handle.connection();
        const [row] = await (
          await client.query({ query: `SELECT toString(count()) AS n FROM ${database}.logs_events`, format: 'JSONEachRow' })
        ).json<{ n: string }>();
        seen.push({ database, rows: Number(row?.n) });
      },
    }),
  });
  await startPipeline(t, `${sinkToml(tg.url)}\n[tasks.probe]\ntype = "handle_probe"\n`, { extra: [manualSource, probe] });
  t.same(seen, [{ database: tg.ch.database, rows: 0 }], "the handle connects to the sink's database, migrated");
});
