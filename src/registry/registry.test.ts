import pg from 'pg';
import t, { type Test } from 'tap';
import { withPostgres } from '../testing/index.js';
import { eventually } from '../testing/index.js';
import type { Json, StateStore } from '../core/plugin/types.js';
import { migratePostgres } from '../storage/postgres/migrate.js';
import { compileSchema } from './compile.js';
import { SchemaError } from './errors.js';
import { SchemaRegistry } from './registry.js';
import { getSchema, listSchemas, registerSchema } from './store.js';

const checkout = {
  type: 'object',
  required: ['order_id', 'amount'],
  properties: {
    order_id: { type: 'string' },
    amount: { type: 'number', minimum: 0 },
    customer: { type: 'object', properties: { email: { type: 'string', format: 'email' } } },
  },
  'x-thermocline': { table: 'events_checkout', store: 'postgres' },
};

const withProperty = (name: string, schema: object, required = false) => ({
  ...checkout,
  properties: { ...checkout.properties, [name]: schema },
  ...(required ? { required: [...checkout.required, name] } : {}),
});

async function registryDb(t: Test) {
  const db = await withPostgres(t);
  await migratePostgres(db.pool, { flavour: 'plain' });
  return db;
}


async function register(pool: pg.Pool, type: string, schema: unknown, force = false) {
  const client = await pool.connect();
  try {
    return await registerSchema(client, type, schema, { force, by: 'test' });
  } finally {
    client.release();
  }
}

function memoryState(): StateStore & { data: Map<string, Json> } {
  const data = new Map<string, Json>();
  return { data, get: (k) => data.get(k), set: (k, v) => void data.set(k, v), delete: (k) => void data.delete(k) };
}

const quietLogger = { info() {}, warn() {}, error() {} };

async function rejects(t: Test, p: Promise<unknown>, code: string, includes: string[]) {
  try {
    await p;
    t.fail(`expected ${code}`);
  } catch (err) {
    t.ok(err instanceof SchemaError, 'a SchemaError');
    t.equal((err as SchemaError).code, code);
    for (const s of includes) t.match((err as Error).message, s);
  }
}

t.test('versions: optional fields pass, removals, type changes and new required fields are refused by name, force makes a major', async (t) => {
  const { pool } = await registryDb(t);
  const first = await register(pool, 'checkout.completed', checkout);
  t.equal(first.stored.version, '1.0');
  t.equal((await register(pool, 'checkout.completed', JSON.parse(JSON.stringify(checkout)))).unchanged, true, 'same schema again changes nothing');

  const minor = await register(pool, 'checkout.completed', withProperty('coupon', { type: 'string' }));
  t.equal(minor.stored.version, '1.1');

  const { amount: _a, ...withoutAmount } = checkout.properties;
  await rejects(t, register(pool, 'checkout.completed', { ...withProperty('coupon', { type: 'string' }), properties: { ...withoutAmount, coupon: { type: 'string' } }, required: ['order_id'] }), 'TC_SCHEMA_INCOMPATIBLE', ['field "amount" was removed']);
  await rejects(t, register(pool, 'checkout.completed', withProperty('coupon', { type: 'integer' })), 'TC_SCHEMA_INCOMPATIBLE', ['field "coupon" changed type from string to integer']);
  await rejects(t, register(pool, 'checkout.completed', { ...withProperty('coupon', { type: 'string' }), required: [...checkout.required, 'coupon'] }), 'TC_SCHEMA_INCOMPATIBLE', ['field "coupon" became required']);
  const nested = withProperty('coupon', { type: 'string' });
  await rejects(
    t,
    register(pool, 'checkout.completed', { ...nested, properties: { ...nested.properties, customer: { type: 'object', properties: { email: { type: 'integer' } } } } }),
    'TC_SCHEMA_INCOMPATIBLE',
    ['field "customer.email" changed type'],
  );
  await rejects(t, register(pool, 'checkout.completed', withProperty('vat', { type: 'number' }, true)), 'TC_SCHEMA_INCOMPATIBLE', ['field "vat" was added as required']);

  const forced = await register(pool, 'checkout.completed', withProperty('coupon', { type: 'integer' }), true);
  t.equal(forced.stored.version, '2.0');
  t.match(forced.forced, ['field "coupon" changed type from string to integer']);
  t.same((await listSchemas(pool, 'checkout.completed')).map((s) => s.version), ['1.0', '1.1', '2.0']);
  t.equal((await getSchema(pool, 'checkout.completed', '1.1')).version, '1.1');
  await rejects(t, getSchema(pool, 'nope'), 'TC_SCHEMA_NOT_FOUND', ['"nope"']);
});

t.test('bad schemas: not JSON Schema, not an object, unsafe table or column names, too many properties', async (t) => {
  const { pool } = await registryDb(t);
  await rejects(t, register(pool, 'a', { type: 'object', properties: { x: { type: 'strng' } } }), 'TC_SCHEMA_INVALID', ['/properties/x/type']);
  await rejects(t, register(pool, 'a', { type: 'array' }), 'TC_SCHEMA_INVALID', ['"type": "object"']);
  await rejects(t, register(pool, 'Bad Type', { type: 'object' }), 'TC_SCHEMA_INVALID', ['event type "Bad Type"']);
  await rejects(t, register(pool, 'a', { type: 'object', 'x-thermocline': { table: 'x; DROP TABLE y' } }), 'TC_SCHEMA_TABLE_NAME', ['table "x; DROP TABLE y"']);
  await rejects(t, register(pool, 'a', { type: 'object', 'x-thermocline': { table: 'events_generic' } }), 'TC_SCHEMA_TABLE_NAME', ['reserved']);
  await rejects(t, register(pool, 'a', { type: 'object', properties: { 'Bad-Name': {} }, 'x-thermocline': { table: 'ok' } }), 'TC_SCHEMA_TABLE_NAME', ['property "Bad-Name"']);
  await rejects(t, register(pool, 'a', { type: 'object', 'x-thermocline': { table: 'ok', store: 'mysql' } }), 'TC_SCHEMA_INVALID', ['/x-thermocline/store']);
  const huge = { type: 'object', properties: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`p${i}`, { type: 'string' }])) };
  await rejects(t, register(pool, 'a', huge), 'TC_SCHEMA_TOO_LARGE', ['more than 1000 properties']);
  t.same(await listSchemas(pool), [], 'nothing refused was stored');
});

t.test('validation names each field by its JSON pointer; a payload 50 levels deep is refused', async (t) => {
  const compiled = compileSchema('checkout.completed', { major: 1, minor: 0 }, checkout);
  t.same(compiled.validate({ order_id: 'o1', amount: 3 }), []);
  t.same(compiled.validate({ amount: -1, customer: { email: 'nope' } }), [
    { pointer: '/payload/order_id', message: 'is required' },
    { pointer: '/payload/amount', message: 'must be >= 0' },
    { pointer: '/payload/customer/email', message: 'must match format "email"' },
  ]);
  let deep: Record<string, unknown> = {};
  const root = deep;
  for (let i = 0; i < 50; i++) deep = (deep.n = {}) as Record<string, unknown>;
  const [issue] = compiled.validate(root);
  t.match(issue, { pointer: /^\/payload(\/n){32}$/, message: 'nests deeper than 32 levels' });
});

t.test('two gateways registering conflicting versions at once: one wins, the other is told why', async (t) => {
  const { url, pool } = await registryDb(t);
  await register(pool, 'deploy', { type: 'object', properties: { version: { type: 'string' } } });
  const other = new pg.Pool({ connectionString: url });
  t.teardown(() => other.end());
  for (let round = 0; round < 5; round++) {
    const type = `race.r${round}`;
    const results = await Promise.allSettled([
      register(pool, type, { type: 'object', properties: { n: { type: 'string' } } }),
      register(other, type, { type: 'object', properties: { n: { type: 'integer' } } }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    t.equal(won.length, 1, `round ${round}: one wins`);
    t.equal(lost.length, 1);
    t.match(lost[0]?.reason, { code: 'TC_SCHEMA_INCOMPATIBLE', message: /field "n" changed type/ });
    t.same((await listSchemas(pool, type)).map((s) => s.version), ['1.0']);
  }
});

t.test('a version registered by one gateway reaches another within seconds (NOTIFY), and is saved in the state', async (t) => {
  const { url, pool } = await registryDb(t);
  const poolB = new pg.Pool({ connectionString: url });
  t.teardown(() => poolB.end());
  const state = memoryState();
  const a = new SchemaRegistry({ pool: async () => pool, logger: quietLogger, pollIntervalMs: 600_000 });
  const b = new SchemaRegistry({ pool: async () => poolB, logger: quietLogger, state, pollIntervalMs: 600_000 });
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  await a.start();
  await b.start();
  t.equal(b.origin, 'database');
  const changed: string[][] = [];
  b.onChange((types) => changed.push(types));
  await a.register('checkout.completed', checkout);
  t.equal(a.get('checkout.completed')?.version, '1.0', 'the registering gateway uses it at once');
  await eventually(() => b.get('checkout.completed') !== undefined, 10_000, 'the other gateway to hear of it');
  t.same(changed, [['checkout.completed']]);
  await a.register('checkout.completed', withProperty('coupon', { type: 'string' }));
  await eventually(() => b.get('checkout.completed')?.version === '1.1', 10_000, 'version 1.1');
  t.match(state.data.get('schema_registry'), { schemas: [{ type: 'checkout.completed', major: 1, minor: 1 }] });
});

t.test('registry database unreachable at start: the last known schemas still validate, and the log says so', async (t) => {
  const { pool } = await registryDb(t);
  const state = memoryState();
  const first = new SchemaRegistry({ pool: async () => pool, logger: quietLogger, state });
  await first.start();
  await first.register('checkout.completed', checkout);
  await first.stop();

  const warnings: Array<{ obj: object; msg: string }> = [];
  const unreachable = new SchemaRegistry({
    pool: async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:1');
    },
    state,
    logger: { ...quietLogger, warn: (obj, msg) => warnings.push({ obj, msg }) },
  });
  t.teardown(() => unreachable.stop());
  await unreachable.start();
  t.equal(unreachable.origin, 'state');
  t.same(unreachable.get('checkout.completed')?.validate({ amount: 1 }), [{ pointer: '/payload/order_id', message: 'is required' }]);
  t.match(warnings, [{ obj: { code: 'TC_SCHEMA_REGISTRY_UNREACHABLE', types: 1 }, msg: /validating with the 1 schemas last seen at/ }]);
});
