/**
 * Typed business event tables (docs/events.md#clickhouse) on the real engine (chdb, or CH_URL) with
 * the schema registry in a real PostgreSQL (embedded, or PG_URL): created on the first event, the
 * documented columns and types, widened by a new compatible version, replays written once,
 * store = "postgres" left alone, store = "both" written, a bad row isolated.
 */
import type pg from 'pg';
import t, { type Test } from 'tap';
import { type BusinessEvent, PostgresConnection, type PostgresHandle, eventId, registerSchema } from '../../../index.js';
import { DEFAULT_MIGRATION_PARAMS, migratePostgres } from '../../../storage/index.js';
import { eventually, manualSource, manualSources, standaloneContext, startPipeline, tempDir, withPostgres } from '../../../testing/index.js';
import { clickhouseConfig } from './config.js';
import plugin from './index.js';
import { createClickHouseSink } from './sink.js';
import { BASE_US, Logs, type Target, count, meta, select, target } from './testdata/harness.js';
import { rfc3339Micros } from './typed-columns.js';
import { addTypedColumnsSql, createTypedTableSql } from './typed-ddl.js';

const checkout = {
  type: 'object',
  required: ['order_id', 'amount'],
  properties: {
    order_id: { type: 'string' },
    amount: { type: 'number' },
    quantity: { type: 'integer' },
    paid: { type: 'boolean' },
    paid_at: { type: 'string', format: 'date-time' },
    customer: { type: 'object', properties: { email: { type: 'string' } } },
    order: { type: 'array' },
  },
  'x-thermocline': { table: 'events_checkout', store: 'clickhouse' },
};

async function register(pool: pg.Pool, type: string, schema: unknown): Promise<void> {
  const client = await pool.connect();
  try {
    await registerSchema(client, type, schema, { by: 'test' });
  } finally {
    client.release();
  }
}

interface Env {
  readonly tg: Target;
  readonly pool: pg.Pool;
  open(options?: Record<string, unknown>): ReturnType<typeof createClickHouseSink>;
}

/** A ClickHouse database and a PostgreSQL registry; `open` makes a sink whose `registry = "pg"` is that database. */
async function env(t: Test): Promise<Env | undefined> {
  const tg = await target(t);
  if (!tg) return undefined;
  const db = await withPostgres(t);
  await migratePostgres(db.pool, { flavour: 'plain' });
  const handle: PostgresHandle = { kind: 'postgres', sink: 'pg', pool: async () => db.pool, flavour: async () => 'plain', params: DEFAULT_MIGRATION_PARAMS };
  const open = (options: Record<string, unknown> = {}) => {
    const { ctx } = standaloneContext('sink', 'ch', 'clickhouse', tempDir(t, 'thermocline-ch-typed-'));
    const use = ((key, from) => (key === PostgresConnection && from === 'pg' ? handle : ctx.use(key, from))) as typeof ctx.use;
    const config = clickhouseConfig.parse({ url: tg.url, typed_tables: 'create', registry: 'pg', ...options });
    const sink = createClickHouseSink(config, { ...ctx, use, logger: new Logs().logger });
    t.teardown(() => sink.stop?.());
    return sink;
  };
  return { tg, pool: db.pool, open };
}

const event = (i: number, payload: Record<string, unknown>, overrides: Partial<BusinessEvent> = {}): BusinessEvent => ({
  kind: 'event',
  type: 'checkout.completed',
  time_us: BASE_US + i * 1000 + 7,
  service: 'shop',
  severity: 'info',
  payload,
  ...overrides,
});

async function tableExists(tg: Target, table: string): Promise<boolean> {
  return (await select(tg.ch, `SELECT name FROM system.tables WHERE database = '${tg.ch.database}' AND name = '${table}'`)).length === 1;
}

async function columns(tg: Target, table: string): Promise<Array<[string, string]>> {
  const rows = await select<{ name: string; type: string }>(
    tg.ch,
    `SELECT name, type FROM system.columns WHERE database = '${tg.ch.database}' AND table = '${table}' ORDER BY position`,
  );
  return rows.map((r) => [r.name, r.type]);
}

t.test('the table is created on the first event, with the documented columns, and holds exact values', async (t) => {
  const e = await env(t);
  if (!e) return;
  await register(e.pool, 'checkout.completed', checkout);
  const sink = e.open();
  await sink.start?.();
  t.notOk(await tableExists(e.tg, 'events_checkout'), 'nothing before the first event');

  const paidAt = '2026-12-04T21:30:00.123456+01:00';
  const full = event(
    1,
    { order_id: 'o-1', amount: 42.5, quantity: 3, paid: true, paid_at: paidAt, customer: { email: 'a@b.c' }, order: [1, 'x'] },
    { id: 'order-o-1' },
  );
  const sparse = event(2, { order_id: 'o-2', amount: 0 }, { severity: '' });
  t.same(await sink.write([full, sparse], meta(1)), undefined, 'nothing rejected');

  t.ok(await tableExists(e.tg, 'events_checkout'), 'created by the first write');
  // The properties in the order PostgreSQL's JSONB keeps them (shorter names first), after the fixed columns.
  const cols = await columns(e.tg, 'events_checkout');
  t.same(cols.slice(0, 6), [
    ['ts', "DateTime64(6, 'UTC')"],
    ['id', 'UUID'],
    ['type', 'LowCardinality(String)'],
    ['service', 'LowCardinality(String)'],
    ['severity', 'LowCardinality(String)'],
    ['schema_version', 'LowCardinality(String)'],
  ]);
  t.same(
    new Map(cols.slice(6)),
    new Map([
      ['order_id', 'String'],
      ['amount', 'Float64'],
      ['quantity', 'Nullable(Int64)'],
      ['paid', 'Nullable(Bool)'],
      ['paid_at', "Nullable(DateTime64(6, 'UTC'))"],
      ['customer', 'Nullable(String)'],
      ['order', 'Nullable(String)'],
    ]),
    'one column per property: required ones not Nullable',
  );
  const [meta0] = await select<{ engine: string; sorting_key: string; partition_key: string; create_table_query: string }>(
    e.tg.ch,
    `SELECT engine, sorting_key, partition_key, create_table_query FROM system.tables WHERE database = '${e.tg.ch.database}' AND name = 'events_checkout'`,
  );
  t.equal(meta0?.engine, 'ReplacingMergeTree');
  t.equal(meta0?.sorting_key, 'type, ts, id');
  t.equal(meta0?.partition_key, 'toDate(ts)');
  t.match(meta0?.create_table_query, /TTL ts \+ toIntervalDay\(180\)/, 'the retention of logs_events');
  t.match(meta0?.create_table_query, /non_replicated_deduplication_window = 1000/, 'a deduplication window, as the seed tables');

  const rows = await select(
    e.tg.ch,
    `SELECT toString(toUnixTimestamp64Micro(ts)) AS ts, toString(id) AS id, type, service, severity, schema_version, order_id, amount, toString(quantity) AS quantity, paid,
       toString(toUnixTimestamp64Micro(paid_at)) AS paid_at, customer, order FROM ${e.tg.ch.database}.events_checkout ORDER BY ts`,
  );
  t.same(rows, [
    {
      ts: String(full.time_us),
      id: eventId('order-o-1', full),
      type: 'checkout.completed',
      service: 'shop',
      severity: 'info',
      schema_version: '1.0',
      order_id: 'o-1',
      amount: 42.5,
      quantity: '3',
      paid: true,
      paid_at: String(Date.UTC(2026, 11, 4, 20, 30, 0, 123) * 1000 + 456),
      customer: '{"email":"a@b.c"}',
      order: '[1,"x"]',
    },
    {
      ts: String(sparse.time_us),
      id: eventId(undefined, sparse),
      type: 'checkout.completed',
      service: 'shop',
      severity: '',
      schema_version: '1.0',
      order_id: 'o-2',
      amount: 0,
      quantity: null,
      paid: null,
      paid_at: null,
      customer: null,
      order: null,
    },
  ]);
});

t.test('a new compatible version widens the table; replays and retried events are stored once', async (t) => {
  const e = await env(t);
  if (!e) return;
  await register(e.pool, 'checkout.completed', checkout);
  const sink = e.open();
  await sink.start?.();
  const first = Array.from({ length: 20 }, (_, i) => event(i, { order_id: `o-${i}`, amount: i }));
  await sink.write(first, meta(1));
  await sink.write(first, meta(1, 2));
  const other = e.open();
  await other.write(first, meta(1, 3));
  t.equal(await count(e.tg.ch, 'events_checkout'), 20, 'a replayed delivery, from this sink or a restarted one, inserts nothing');

  await register(e.pool, 'checkout.completed', { ...checkout, properties: { ...checkout.properties, coupon: { type: 'string' } } });
  const withCoupon = event(100, { order_id: 'o-100', amount: 1, coupon: 'XMAS' });
  // The running sink hears of 1.1 by NOTIFY; until then it writes under 1.0 (no coupon column yet).
  let seq = 10;
  await eventually(
    async () => {
      await sink.write([withCoupon], meta(seq++));
      return (await columns(e.tg, 'events_checkout')).some(([name]) => name === 'coupon');
    },
    20_000,
    'the coupon column',
  );
  t.same((await columns(e.tg, 'events_checkout')).at(-1), ['coupon', 'Nullable(String)'], 'added, nullable');
  const rows = await select(
    e.tg.ch,
    `SELECT order_id, coupon, schema_version FROM ${e.tg.ch.database}.events_checkout FINAL WHERE order_id IN ('o-1', 'o-100') ORDER BY order_id`,
  );
  t.same(rows, [
    { order_id: 'o-1', coupon: null, schema_version: '1.0' },
    { order_id: 'o-100', coupon: 'XMAS', schema_version: '1.1' },
  ]);
  t.equal(await count(e.tg.ch, 'events_checkout FINAL'), 21, 'the same event sent in several deliveries is one row (ReplacingMergeTree on its id)');
});

t.test('store = "postgres" is left to the postgres sink; "both" is written here; a bad row is isolated', async (t) => {
  const e = await env(t);
  if (!e) return;
  await register(e.pool, 'checkout.completed', { ...checkout, 'x-thermocline': { table: 'events_checkout', store: 'both' } });
  await register(e.pool, 'deploy', {
    type: 'object',
    properties: { version: { type: 'string' } },
    'x-thermocline': { table: 'events_deploy', store: 'postgres' },
  });
  const sink = e.open();
  await sink.start?.();
  const events = [
    event(1, { version: '1.2.3' }, { type: 'deploy' }),
    event(2, { order_id: 'o-2', amount: 2 }),
    event(3, { order_id: 'o-3', amount: 3, paid_at: 'yesterday' }),
    event(4, { order_id: 'o-4', amount: 4 }),
    event(5, { anything: 1 }, { type: 'unregistered.type' }),
  ];
  const result = await sink.write(events, meta(1));
  t.same(
    result?.rejected?.map((r) => r.index),
    [2],
    'the unparsable date-time is rejected alone; the deploy and the unregistered event are not dead-lettered',
  );
  t.match(result?.rejected?.[0]?.reason, /events_checkout/);
  t.notOk(await tableExists(e.tg, 'events_deploy'), 'no ClickHouse table for store = "postgres"');
  t.same(await select(e.tg.ch, `SELECT order_id FROM ${e.tg.ch.database}.events_checkout ORDER BY order_id`), [{ order_id: 'o-2' }, { order_id: 'o-4' }]);
});

t.test('typed_tables = "create" needs registry; the DDL on a cluster', async (t) => {
  const issues = plugin.validate?.(clickhouseConfig.parse({ url: 'chdb://x', typed_tables: 'create' })) ?? [];
  t.same(
    issues.map((i) => i.path),
    [['registry']],
  );
  t.same(plugin.validate?.(clickhouseConfig.parse({ url: 'chdb://x', typed_tables: 'create', registry: 'pg' })), []);

  const target = { database: 'db', table: 'events_checkout', cluster: 'c1' };
  const columns = [{ name: 'coupon', kind: 'string', type: 'Nullable(String)' }] as const;
  const [local, distributed] = createTypedTableSql(target, columns, 'default', DEFAULT_MIGRATION_PARAMS);
  t.match(local, /CREATE TABLE IF NOT EXISTS db\.events_checkout_local ON CLUSTER c1/);
  t.match(local, /ENGINE = ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/db\/events_checkout_local', '\{replica\}'\)/);
  t.match(distributed, /ENGINE = Distributed\('c1', 'db', 'events_checkout_local', cityHash64\(id\)\)/);
  t.same(addTypedColumnsSql(target, columns), [
    'ALTER TABLE db.events_checkout_local ON CLUSTER c1 ADD COLUMN IF NOT EXISTS `coupon` Nullable(String)',
    'ALTER TABLE db.events_checkout ON CLUSTER c1 ADD COLUMN IF NOT EXISTS `coupon` Nullable(String)',
  ]);
  t.match(
    createTypedTableSql({ ...target, cluster: undefined }, columns, 'hot_warm_cold', DEFAULT_MIGRATION_PARAMS)[0],
    /TTL ts \+ INTERVAL 7 DAY TO VOLUME 'warm', ts \+ INTERVAL 30 DAY TO VOLUME 'cold', ts \+ INTERVAL 180 DAY DELETE/,
  );
});

t.test('RFC 3339 date-times to microseconds', async (t) => {
  t.equal(rfc3339Micros('1970-01-01T00:00:01Z'), 1_000_000);
  t.equal(rfc3339Micros('1970-01-01T01:00:00.0000015+01:00'), 1, 'offset applied; digits past the microsecond cut');
  t.equal(rfc3339Micros('1970-01-01t00:00:00.5-00:30'), 1_800_500_000);
  t.equal(rfc3339Micros('2026-12-04 20:00:00'), undefined, 'no zone: not RFC 3339');
  t.equal(rfc3339Micros('yesterday'), undefined);
});

t.test('in the runtime: registry = "pg" names the postgres sink, whose pool the clickhouse sink reads the registry with', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const db = await withPostgres(t);
  await migratePostgres(db.pool, { flavour: 'plain' });
  await register(db.pool, 'checkout.completed', { ...checkout, 'x-thermocline': { table: 'events_checkout', store: 'both' } });
  await startPipeline(
    t,
    `
[sources.src]
type = "manual"

[sinks.pg]
type = "postgres"
inputs = ["src"]
url = ${JSON.stringify(db.url)}
batch = { timeout_secs = 0.05 }

[sinks.ch]
type = "clickhouse"
inputs = ["src"]
url = ${JSON.stringify(tg.url)}
typed_tables = "create"
registry = "pg"
batch = { timeout_secs = 0.05 }
retry = { initial_backoff_secs = 0.05, max_backoff_secs = 0.2 }
`,
    { extra: [manualSource] },
  );
  await eventually(() => manualSources.has('src'), 10_000, 'the manual source');
  await manualSources.get('src')?.emit([event(1, { order_id: 'o-1', amount: 1 })]);
  await eventually(
    async () => (await tableExists(tg, 'events_checkout')) && (await count(tg.ch, 'events_checkout')) === 1,
    20_000,
    'the typed row in ClickHouse',
  );
  await eventually(
    // The table is created by the postgres sink's first delivery, which may come after ClickHouse's.
    async () => Number((await db.pool.query('SELECT count(*) AS n FROM events_checkout').catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n) === 1,
    20_000,
    'and in PostgreSQL (store = "both")',
  );
});
