/**
 * The events receiver over real HTTP, with a postgres sink on embedded PostgreSQL holding the
 * registry: validation before queueing, field-level refusals, the unregistered policies, the
 * registration endpoint, auth, gzip, size limits, and events landing in events_generic once.
 */
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { decodeBatch, eventually, freePorts, startPipeline } from '../../../testing/index.js';
import { withPostgres } from '../../../testing/index.js';

const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');

async function gateway(t: Test, options: { unregistered?: string; extra?: string } = {}) {
  const db = await withPostgres(t);
  const [port] = await freePorts(1);
  const { runtime, logs } = await startPipeline(
    t,
    `
[sources.events]
type = "http_events"
address = "127.0.0.1:${port}"
registry = "pg"
schemas = [${JSON.stringify(path.join(testdata, '*.json'))}]
unregistered = "${options.unregistered ?? 'accept'}"
schema_api = { bearer_token = "admin-secret" }
${options.extra ?? ''}

[sinks.pg]
type = "postgres"
inputs = ["events"]
url = ${JSON.stringify(db.url)}
batch = { max_events = 1000, timeout_secs = 0.05 }
`,
  );
  const base = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${base}/v1/schemas`, { headers: { authorization: 'Bearer admin-secret' } }).catch(() => undefined))?.status === 200, 30_000, 'the receiver');
  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/events`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { db, runtime, logs, base, post };
}

// Recent times: on plain PostgreSQL rows older than the retention are dead-lettered by the sink.
const recentMs = Date.now() - 60_000;
const rfc3339 = `${new Date(recentMs).toISOString().slice(0, -1)}456Z`;
const checkout = (payload: object, extra: object = {}) => ({ type: 'checkout.completed', time: rfc3339, service: 'shop', payload, ...extra });

t.test('valid events are queued and stored; invalid ones are named with their pointers; and stored', async (t) => {
  const { db, runtime, post } = await gateway(t);
  const good = checkout({ order_id: 'o-1', amount: 12.5, currency: 'EUR' }, { id: 'order-o-1' });
  const res = await post(
    JSON.stringify([
      good,
      checkout({ amount: -3, currency: 'eur', customer: { email: 'nope' } }),
      { type: 'deploy', time: recentMs, severity: 'info', payload: { version: '1.2.3' } },
      { type: 'Bad Type', time: 'yesterday', payload: [], extra: 1 },
    ]),
  );
  t.equal(res.status, 422);
  const body = (await res.json()) as { accepted: number; rejected: Array<{ index: number; type: string | null; errors: Array<{ pointer: string; message: string }> }> };
  t.equal(body.accepted, 2);
  t.match(body, { code: 'TC_EVENT_INVALID' });
  t.same(
    body.rejected.map((r) => [r.index, r.type, r.errors.map((e) => e.pointer)]),
    [
      [1, 'checkout.completed', ['/payload/order_id', '/payload/amount', '/payload/currency', '/payload/customer/email']],
      [3, 'Bad Type', ['/extra', '/type', '/time', '/payload']],
    ],
  );
  t.match(body.rejected[0]?.errors[1]?.message, /must be >= 0 \(schema checkout.completed 1.0\)/);

  // A client retry of the good event (same id) lands once; so does a resent event without an id.
  t.equal((await post(JSON.stringify(good))).status, 200);
  t.equal((await post(JSON.stringify([{ type: 'deploy', time: recentMs, severity: 'info', payload: { version: '1.2.3' } }]))).status, 200);
  await eventually(async () => /thermocline_component_sent_events_total\{component_id="pg"[^}]*\} 4/.test(await runtime.metrics.text()), 20_000, 'four events delivered');
  await eventually(async () => Number((await db.pool.query('SELECT count(*) AS n FROM events_generic')).rows[0].n) >= 2, 20_000, 'events in events_generic');
  const rows = await db.pool.query(`SELECT type, service, severity, payload, (extract(epoch from ts) * 1000000)::bigint AS us FROM events_generic ORDER BY type`);
  t.same(
    rows.rows.map((r) => r.type),
    ['checkout.completed', 'deploy'],
    'every accepted event once, whatever the retries',
  );
  t.equal(rows.rows[0].us, String(recentMs * 1000 + 456), 'microseconds of an RFC 3339 time are kept');

  const metrics = await runtime.metrics.text();
  t.match(metrics, /thermocline_http_events_refused_events_total\{event_type="checkout.completed",reason="invalid",component_id="events"\} 1/);
  t.match(metrics, /thermocline_http_events_refused_events_total\{event_type="_malformed",reason="malformed",component_id="events"\} 1/);
  t.match(metrics, /thermocline_http_events_accepted_events_total\{event_type="checkout.completed",component_id="events"\} 2/);
});

t.test('NDJSON and gzip; wrong media types, bad JSON, too many events and a deep payload are refused with codes', async (t) => {
  const { post } = await gateway(t, { extra: 'max_events = 3\nauth = { bearer_token = "producer" }' });
  const auth = { authorization: 'Bearer producer' };
  t.equal((await post('{}')).status, 401, 'the bearer token is required');
  const ndjson = `${JSON.stringify({ type: 'deploy', time: 1, payload: {} })}\nnot json\n\n${JSON.stringify({ type: 'incident', time: 2, payload: {} })}\n`;
  const r1 = await post(gzipSync(ndjson), { ...auth, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
  t.equal(r1.status, 422);
  t.match(await r1.json(), { accepted: 2, rejected: [{ index: 1, type: null, errors: [{ pointer: '', message: /not valid JSON/ }] }] });
  t.match(await (await post('{}', { ...auth, 'content-type': 'text/plain' })).json(), { code: 'TC_EVENTS_BAD_REQUEST', message: /Content-Type/ });
  const bad = await post('{"type":', auth);
  t.equal(bad.status, 400);
  t.match(await bad.json(), { code: 'TC_EVENTS_BAD_REQUEST', message: /not valid JSON/ });
  t.equal((await post(JSON.stringify([1, 2, 3, 4]), auth)).status, 413);
  let deep: Record<string, unknown> = {};
  const payload = deep;
  for (let i = 0; i < 50; i++) deep = (deep.d = {}) as Record<string, unknown>;
  const r2 = await post(JSON.stringify({ type: 'deploy', time: 1, payload }), auth);
  t.match(await r2.json(), { rejected: [{ index: 0, errors: [{ message: 'nests deeper than 32 levels' }] }] });
});

t.test('unregistered = "reject" refuses, "dead_letter" answers 200 and keeps the events aside', async (t) => {
  const rejecting = await gateway(t, { unregistered: 'reject' });
  const r = await rejecting.post(JSON.stringify({ type: 'deploy', time: 1, payload: {} }));
  t.equal(r.status, 422);
  t.match(await r.json(), { rejected: [{ index: 0, type: 'deploy', errors: [{ pointer: '/type', message: /no registered schema/ }] }] });

  const dl = await gateway(t, { unregistered: 'dead_letter' });
  const d = await dl.post(JSON.stringify([{ type: 'deploy', time: 1, payload: {} }, checkout({ order_id: 'o', amount: 1 })]));
  t.equal(d.status, 200);
  t.match(await d.json(), { accepted: 1, dead_lettered: 1 });
  const [dead] = dl.runtime.store.deadLetters('events');
  t.match(JSON.parse(dead?.rows ?? '[]'), [{ index: 0, reason: /TC_EVENT_UNREGISTERED/ }]);
  t.match(decodeBatch(dead?.data ?? Buffer.alloc(0)), [{ kind: 'event', type: 'deploy' }]);
});

t.test('the registration endpoint: authenticated, compatibility errors name the field, new versions validate at once', async (t) => {
  const { base, post } = await gateway(t);
  const register = (type: string, schema: unknown, token = 'admin-secret', query = '') =>
    fetch(`${base}/v1/schemas/${type}${query}`, { method: 'POST', body: JSON.stringify(schema), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  t.equal((await register('deploy', { type: 'object' }, 'wrong')).status, 401);
  const created = await register('deploy', { type: 'object', required: ['version'], properties: { version: { type: 'string' } } });
  t.equal(created.status, 201);
  t.match(await created.json(), { type: 'deploy', version: '1.0' });
  const refused = await register('deploy', { type: 'object', properties: {} });
  t.equal(refused.status, 409);
  t.match(await refused.json(), { code: 'TC_SCHEMA_INCOMPATIBLE', problems: ['field "version" was removed'] });
  t.equal((await register('deploy', { type: 'object', properties: {} }, 'admin-secret', '?force=true')).status, 201);
  const bad = await register('x', { type: 'object', 'x-thermocline': { table: 'robert"); DROP' } });
  t.equal(bad.status, 400);
  t.match(await bad.json(), { code: 'TC_SCHEMA_TABLE_NAME' });
  const list = await (await fetch(`${base}/v1/schemas`, { headers: { authorization: 'Bearer admin-secret' } })).json();
  t.match(list, { origin: 'database', types: [{ type: 'checkout.completed', version: '1.0' }, { type: 'deploy', version: '2.0' }] });
  t.equal((await post(JSON.stringify({ type: 'deploy', time: 1, payload: {} }))).status, 200, 'validated against 2.0');
});

t.test('typed tables: created on first use with a column per property, widened by a new version, exactly once', async (t) => {
  const { db, base, post } = await gateway(t);
  const order = checkout({ order_id: 'o-9', amount: 20, currency: 'EUR', customer: { email: 'a@example.com' } }, { id: 'order-9' });
  t.equal((await post(JSON.stringify(order))).status, 200);
  t.equal((await post(JSON.stringify(order))).status, 200, 'a retry');
  await eventually(async () => (await db.pool.query(`SELECT to_regclass('events_checkout') AS r`)).rows[0].r !== null, 20_000, 'the typed table');
  await eventually(async () => Number((await db.pool.query('SELECT count(*) AS n FROM events_checkout')).rows[0].n) >= 1, 20_000, 'the typed row');
  const columns = await db.pool.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events_checkout' ORDER BY ordinal_position`);
  t.same(
    columns.rows.map((r) => `${r.column_name} ${r.data_type}`),
    // The registry keeps schemas as JSONB, which orders keys by length, then bytes.
    ['id uuid', 'ts timestamp with time zone', 'type text', 'service text', 'severity text', 'schema_version text', 'amount double precision', 'currency text', 'customer jsonb', 'order_id text'],
  );
  const registered = await fetch(`${base}/v1/schemas/checkout.completed`, {
    method: 'POST',
    headers: { authorization: 'Bearer admin-secret' },
    body: JSON.stringify({
      type: 'object',
      required: ['order_id', 'amount'],
      properties: { order_id: { type: 'string' }, amount: { type: 'number', minimum: 0 }, currency: { type: 'string', pattern: '^[A-Z]{3}$' }, customer: { type: 'object', properties: { email: { type: 'string', format: 'email' } } }, items: { type: 'integer' } },
      'x-thermocline': { table: 'events_checkout', store: 'postgres' },
    }),
  });
  t.equal(registered.status, 201);
  t.equal((await post(JSON.stringify(checkout({ order_id: 'o-10', amount: 5, items: 3 }, { id: 'order-10' })))).status, 200);
  await eventually(async () => Number((await db.pool.query('SELECT count(*) AS n FROM events_checkout')).rows[0].n) >= 2, 20_000, 'the second typed row');
  const rows = await db.pool.query(`SELECT order_id, amount, currency, customer, items, schema_version FROM events_checkout ORDER BY order_id`);
  t.same(rows.rows, [
    { order_id: 'o-10', amount: 5, currency: null, customer: null, items: '3', schema_version: '1.1' },
    { order_id: 'o-9', amount: 20, currency: 'EUR', customer: { email: 'a@example.com' }, items: null, schema_version: '1.0' },
  ]);
  // The typed row is written before the delivery's events_generic commit: wait for that too.
  const generic = async () => Number((await db.pool.query(`SELECT count(*) AS n FROM events_generic WHERE type = 'checkout.completed'`)).rows[0].n);
  await eventually(async () => (await generic()) >= 2, 20_000, 'the events_generic rows');
  t.equal(await generic(), 2, 'events_generic has them too, once each');
});
