/**
 * OpenTelemetry events: log records with `event.name` become business events when configured, and
 * are validated against the schema registry when a postgres sink holds one.
 */
import t from 'tap';
import { registerSchema } from '../../../index.js';
import { migratePostgres } from '../../../storage/index.js';
import { decodeBatch, eventually, freePorts, startPipeline, withPostgres } from '../../../testing/index.js';
import { otlpHttpConfig } from './config.js';
import plugin from './index.js';
import { JSON_TYPE, send, startReceiver } from './testdata/harness.js';

const logs = (records: object[]) =>
  JSON.stringify({
    resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeLogs: [{ logRecords: records }] }],
  });

const record = (extra: object) => ({
  timeUnixNano: '1764878400000000000',
  severityText: 'INFO',
  body: { stringValue: 'paid' },
  attributes: [{ key: 'order_id', value: { stringValue: 'o-1' } }],
  ...extra,
});

t.test('log_events = "events": a record with event.name is an event of that type; others stay logs', async (t) => {
  const rx = await startReceiver(t, 'log_events = "events"');
  const body = logs([
    record({ eventName: 'checkout.completed' }),
    record({ attributes: [{ key: 'event.name', value: { stringValue: 'deploy' } }] }),
    record({}),
    record({ eventName: 'Not A Type' }),
  ]);
  t.equal((await send(`${rx.base}/v1/logs`, { headers: JSON_TYPE, body })).status, 200);
  const events = await rx.waitFor(4);
  t.match(events[0], { kind: 'event', type: 'checkout.completed', service: 'shop', severity: 'info', time_us: 1764878400000000, payload: { order_id: 'o-1', body: 'paid' }, id: /^[0-9a-f-]{36}$/ });
  t.match(events[1], { kind: 'event', type: 'deploy', payload: { body: 'paid' } });
  t.match(events[2], { kind: 'log', message: 'paid' });
  t.match(events[3], { kind: 'log', labels: { 'event.name': 'Not A Type' } });
});

t.test('by default such records stay logs', async (t) => {
  const rx = await startReceiver(t);
  t.equal((await send(`${rx.base}/v1/logs`, { headers: JSON_TYPE, body: logs([record({ eventName: 'checkout.completed' })]) })).status, 200);
  t.match(await rx.waitFor(1), [{ kind: 'log', labels: { 'event.name': 'checkout.completed' } }]);
});

t.test('with a registry: valid events are queued, invalid and unregistered ones dead-lettered with every error, and counted', async (t) => {
  const db = await withPostgres(t);
  await migratePostgres(db.pool);
  const client = await db.pool.connect();
  await registerSchema(client, 'checkout.completed', {
    type: 'object',
    required: ['order_id', 'amount'],
    properties: { order_id: { type: 'string' }, amount: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' }, body: { type: 'string' } },
  });
  client.release();
  const [port] = await freePorts(1);
  const { runtime } = await startPipeline(
    t,
    `
[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:${port}"
log_events = "events"
registry = "pg"
unregistered = "dead_letter"

[sinks.pg]
type = "postgres"
inputs = ["otlp"]
url = ${JSON.stringify(db.url)}
migrate = false
batch = { max_events = 1000, timeout_secs = 0.05 }
`,
  );
  const now = `${Date.now() - 60_000}000000`;
  const attrs = (pairs: Record<string, string>) => Object.entries(pairs).map(([key, v]) => ({ key, value: { stringValue: v } }));
  const body = logs([
    record({ timeUnixNano: now, eventName: 'checkout.completed', attributes: attrs({ order_id: 'o-1', amount: '12.50' }) }),
    record({ timeUnixNano: now, eventName: 'checkout.completed', attributes: attrs({ amount: 'twelve' }) }),
    record({ timeUnixNano: now, eventName: 'deploy', attributes: attrs({ version: '1.2.3' }) }),
    record({ timeUnixNano: now }),
  ]);
  const url = `http://127.0.0.1:${port}/v1/logs`;
  await eventually(async () => (await send(url, { headers: JSON_TYPE, body: logs([]) }).catch(() => undefined))?.status === 200, 30_000, 'the receiver');
  const res = await send(url, { headers: JSON_TYPE, body });
  t.equal(res.status, 200, 'OTLP cannot refuse one record: the request is answered 200');
  const answer = JSON.parse(res.body.toString()) as { partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string } };
  t.equal(Number(answer.partialSuccess?.rejectedLogRecords), 2, 'partial_success counts the dead-lettered events');
  t.match(answer.partialSuccess?.errorMessage, /2 events dead-lettered: TC_EVENT_INVALID: schema checkout\.completed 1\.0: \/payload\/order_id: is required; \/payload\/amount: must match pattern/);

  const [dead] = runtime.store.deadLetters('otlp');
  t.equal(dead?.events, 2);
  const rows = JSON.parse(dead?.rows ?? '[]') as Array<{ index: number; reason: string }>;
  t.match(rows, [
    { index: 0, reason: /^TC_EVENT_INVALID: schema checkout\.completed 1\.0: .*order_id.*\/payload\/amount/ },
    { index: 1, reason: /^TC_EVENT_UNREGISTERED: "deploy"/ },
  ]);
  t.match(decodeBatch(dead?.data ?? Buffer.alloc(0)), [{ kind: 'event', type: 'checkout.completed', payload: { amount: 'twelve' } }, { kind: 'event', type: 'deploy' }]);

  await eventually(async () => Number((await db.pool.query('SELECT count(*) AS n FROM events_generic')).rows[0].n) === 1, 20_000, 'the valid event stored');
  t.match((await db.pool.query('SELECT type, payload FROM events_generic')).rows, [{ type: 'checkout.completed', payload: { order_id: 'o-1', amount: '12.50' } }]);
  const metrics = await runtime.metrics.text();
  t.match(metrics, /refused_events_total\{event_type="checkout.completed",reason="invalid",component_id="otlp"\} 1/);
  t.match(metrics, /refused_events_total\{event_type="_unregistered",reason="unregistered",component_id="otlp"\} 1/);
  t.match(metrics, /accepted_events_total\{event_type="checkout.completed",component_id="otlp"\} 1/);
});

t.test('registry and unregistered need log_events = "events"', async (t) => {
  const problems = plugin.validate?.(otlpHttpConfig.parse({ registry: 'pg', unregistered: 'dead_letter' })) ?? [];
  t.same(problems.map((p) => p.path), [['registry'], ['unregistered']]);
});
