/**
 * Business events per second through the http_events receiver into PostgreSQL (events_generic),
 * with validation against a registered schema, beside the same events without a registry (no
 * validation). Both on the embedded PostgreSQL with its durable defaults; the clock runs from the
 * first request until the last event is in events_generic; two alternating rounds, best of each.
 * Prints both rates, their ratio (the
 * goal: validation costs at most 15 %, ≥ 0.85×) and peak RSS.
 *
 *   npx tsx bench/events.ts [events=200000] [batch=1000] [concurrency=4]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { parseConfig } from '../src/core/config/load.js';
import { freePorts } from '../src/core/net.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import { builtinRegistry } from '../src/plugins/registry.js';
import { acquireEmbeddedPostgres, releaseEmbeddedPostgres } from '../src/storage/postgres/embedded.js';

const total = Number(process.argv[2] ?? 200_000);
const batch = Number(process.argv[3] ?? 1000);
const concurrency = Number(process.argv[4] ?? 4);

const schema = {
  type: 'object',
  required: ['order_id', 'amount', 'currency'],
  properties: {
    order_id: { type: 'string', minLength: 1 },
    amount: { type: 'number', minimum: 0 },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    items: { type: 'integer', minimum: 1 },
    customer: { type: 'object', properties: { id: { type: 'string' }, tier: { enum: ['free', 'pro'] } } },
  },
};

function body(offset: number): string {
  const now = Date.now();
  const events = [];
  for (let i = 0; i < batch; i++) {
    const n = offset + i;
    events.push({ type: 'checkout.completed', time: now - (n % 1000), service: 'shop', id: `bench-${n}`, payload: { order_id: `o-${n}`, amount: n % 500, currency: 'EUR', items: 1 + (n % 5), customer: { id: `c-${n % 977}`, tier: n % 2 ? 'pro' : 'free' } } });
  }
  return JSON.stringify(events);
}

async function run(adminUrl: string, validate: boolean): Promise<number> {
  const database = `bench_${validate ? 'v' : 'n'}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-events-'));
  const schemaDir = path.join(dataDir, 'schemas');
  fs.mkdirSync(schemaDir);
  fs.writeFileSync(path.join(schemaDir, 'checkout.completed.json'), JSON.stringify(schema));
  const [port] = await freePorts(1);
  const toml = `data_dir = ${JSON.stringify(dataDir)}
[api]
enabled = false
[sources.events]
type = "http_events"
address = "127.0.0.1:${port}"
max_events = ${batch}
${validate ? `registry = "pg"\nschemas = [${JSON.stringify(path.join(schemaDir, '*.json'))}]` : ''}
[sinks.pg]
type = "postgres"
inputs = ["events"]
url = ${JSON.stringify(u.toString())}
typed_tables = "off"
batch = { max_events = 20000, timeout_secs = 0.05 }
`;
  const config = await parseConfig(toml, { registry: builtinRegistry(), env: {} });
  const runtime = await Runtime.start(config, { logger: pino({ level: 'warn' }) });
  const pool = new pg.Pool({ connectionString: u.toString() });
  const url = `http://127.0.0.1:${port}/v1/events`;
  for (;;) {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' }).catch(() => undefined);
    if (r?.status === 200) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const bodies = Array.from({ length: Math.ceil(total / batch) }, (_, i) => body(i * batch));
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const b = bodies[next++] as string;
        for (;;) {
          const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
          await r.arrayBuffer();
          if (r.status === 200) break;
          if (r.status !== 503) throw new Error(`HTTP ${r.status}`);
          await new Promise((res) => setTimeout(res, 50));
        }
      }
    }),
  );
  const accepted = performance.now();
  for (;;) {
    const n = Number((await pool.query('SELECT count(*) AS n FROM events_generic')).rows[0].n);
    if (n >= total) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`${validate ? 'with validation   ' : 'without validation'}: ${Math.round(total / seconds).toLocaleString('en')} events/s into events_generic (accepted durably in ${((accepted - started) / 1000).toFixed(2)} s: ${Math.round(total / ((accepted - started) / 1000)).toLocaleString('en')} events/s)`);
  await pool.end();
  await runtime.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return total / seconds;
}

const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-pg-'));
try {
  const embedded = await acquireEmbeddedPostgres(pgDir);
  console.log(`${total.toLocaleString('en')} events, ${batch} a request, ${concurrency} clients, embedded PostgreSQL`);
  // Alternating rounds, best of each: the first round also warms the JIT and the server.
  let without = 0;
  let withValidation = 0;
  for (let round = 0; round < 2; round++) {
    without = Math.max(without, await run(embedded.url, false));
    withValidation = Math.max(withValidation, await run(embedded.url, true));
  }
  console.log(`ratio with / without validation: ${(withValidation / without).toFixed(2)} (goal ≥ 0.85)`);
  console.log(`peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
} finally {
  await releaseEmbeddedPostgres(pgDir);
  fs.rmSync(pgDir, { recursive: true, force: true });
}
