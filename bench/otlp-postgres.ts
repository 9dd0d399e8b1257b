/**
 * End to end: OTLP/HTTP metrics → otlp_http → disk queue → postgres sink → embedded PostgreSQL,
 * beside a bare script that inserts the same rows with one binary COPY.
 *
 *   agent  a child process running the agent (an `otlp_http` source and a `postgres` sink with
 *          their default settings; the series foreign key is on, as by default). This process
 *          POSTs the requests to it over 4 keep-alive connections: protobuf bodies of
 *          `points_per_request` gauge points (5,000 series, a resource as an instrumented service
 *          sends it) made by the real OpenTelemetry JS SDK and its serializer. The clock runs from
 *          the first request until the sink has delivered every point: each is then durable in
 *          `metrics_points` (and was durable in the queue when its request was answered).
 *   bare   a child process that inserts the same rows (the agent's own decoding of the bodies,
 *          series ids created beforehand) into `metrics_points` of a database of its own: binary
 *          COPY data encoded as it is streamed, in one COPY. What a script costs that already holds
 *          the rows: no HTTP, no protobuf, no queue, no series lookup.
 *
 * For each side: rows/s, CPU-seconds per million rows (the child's process.cpuUsage over the timed
 * part; the load generator runs here, outside both) and its peak RSS; the ratios agent / bare.
 * Rounds alternate the sides; medians are printed. The PostgreSQL server is a process of its own,
 * shared by both sides and not counted in either.
 *
 *   npx tsx bench/otlp-postgres.ts [points=400000] [points_per_request=1000] [rounds=3]   # BENCH_PROF=dir
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import pino from 'pino';
import { canonicalLabels } from '../src/core/events.js';
import type { MetricPoint } from '../src/core/events.js';
import { parseConfig } from '../src/core/config/load.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import { CopyBuffer } from '../src/plugins/sinks/postgres/copy-buffer.js';
import { builtinRegistry } from '../src/plugins/registry.js';
import { otlpHttpConfig } from '../src/plugins/sources/otlp_http/config.js';
import { decodeMetricsProto } from '../src/plugins/sources/otlp_http/proto/metrics.js';
import { acquireEmbeddedPostgres, releaseEmbeddedPostgres } from '../src/storage/postgres/embedded.js';
import { migratePostgres } from '../src/storage/postgres/migrate.js';
import { metricsRequests } from './otlp-metrics.js';

const SELF = fileURLToPath(import.meta.url);
const SERIES = 5000;
const CONNECTIONS = 4;

interface ChildReport {
  rows: number;
  seconds: number;
  cpuUs: number;
  maxRssBytes: number;
}

// ---------------------------------------------------------------------------------------------
// Children: `--agent <url> <data dir> <points>` and `--bare <url> <rows file>`.

if (process.argv[2] === '--agent') await agentChild(process.argv[3] as string, process.argv[4] as string, Number(process.argv[5]));
else if (process.argv[2] === '--bare') await bareChild(process.argv[3] as string, process.argv[4] as string);
else await main();

function report(r: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

/** Runs the agent; reports its port, then its CPU and peak RSS once every point is delivered. */
async function agentChild(url: string, dataDir: string, points: number): Promise<void> {
  const port = 40000 + Math.floor(Math.random() * 20000);
  const toml = `data_dir = ${JSON.stringify(dataDir)}
[api]
enabled = false
[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:${port}"
[sinks.pg]
type = "postgres"
inputs = ["otlp"]
url = ${JSON.stringify(url)}
`;
  const runtime = await Runtime.start(await parseConfig(toml, { registry: builtinRegistry(), env: {} }), { logger: pino({ level: 'warn' }) });
  const delivered = () => runtime.metrics.componentStats().find((s) => s.id === 'pg')?.sentEvents ?? 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  report({ port });
  // The clock that counts is the parent's (first request → this line); this one only bounds CPU.
  while (delivered() < points) await new Promise((r) => setTimeout(r, 5));
  const cpu = process.cpuUsage(cpu0);
  report({ rows: delivered(), seconds: (performance.now() - t0) / 1000, cpuUs: cpu.user + cpu.system, maxRssBytes: process.resourceUsage().maxRSS * 1024 } satisfies ChildReport);
  await runtime.stop();
}

/** Inserts the rows of `file` (see `rowsFile`) with one binary COPY; reports the timed part. */
async function bareChild(url: string, file: string): Promise<void> {
  const { series, rows } = JSON.parse(readFileSync(file, 'utf8')) as { series: Array<[string, string]>; rows: number[] };
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // The series exist beforehand, untimed: the bare side knows its ids.
  const { rows: ids } = await client.query<{ ord: string; series_id: string }>(
    `WITH input AS (SELECT e->>0 AS name, e->1 AS labels, ord FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, ord)),
     inserted AS (INSERT INTO metric_series (metric_name, labels) SELECT name, labels FROM input ORDER BY ord RETURNING series_id, metric_name, labels)
     SELECT i.ord, s.series_id FROM inserted s JOIN input i ON i.name = s.metric_name AND i.labels = s.labels`,
    [JSON.stringify(series.map(([name, labels]) => [name, JSON.parse(labels)]))],
  );
  const idOf: number[] = [];
  for (const r of ids) idOf[Number(r.ord) - 1] = Number(r.series_id);
  const n = rows.length / 3;
  function* encode(): Generator<Buffer> {
    const out = new CopyBuffer();
    for (let i = 0; i < n; i++) {
      out.tuple(3);
      out.timestamp(rows[3 * i] as number);
      out.int64(idOf[rows[3 * i + 1] as number] as number);
      out.float8(rows[3 * i + 2] as number);
      if (out.hasChunks) yield* out.takeChunks();
    }
    yield* out.finish();
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pipeline(Readable.from(encode()), client.query(copyFrom('COPY metrics_points (time, series_id, value) FROM STDIN (FORMAT binary)')));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await client.end();
  report({ rows: n, seconds, cpuUs: cpu.user + cpu.system, maxRssBytes: process.resourceUsage().maxRSS * 1024 } satisfies ChildReport);
}

// ---------------------------------------------------------------------------------------------
// The parent: payloads, databases, load, figures.

/** The rows the agent stores, from its own decoder: series as [name, canonical labels JSON], rows as (time_us, series, value) triples. */
function rowsFile(bodies: readonly Buffer[], file: string): number {
  const keys = otlpHttpConfig.parse({}).metric_resource_labels;
  const series = new Map<string, number>();
  const rows: number[] = [];
  for (const body of bodies) {
    for (const e of decodeMetricsProto(body, keys).events) {
      const p = e as MetricPoint;
      const key = JSON.stringify([p.name, canonicalLabels(p.labels)]);
      let s = series.get(key);
      if (s === undefined) series.set(key, (s = series.size));
      rows.push(p.time_us, s, p.value);
    }
  }
  const list = [...series.keys()].map((k) => {
    const [name, labels] = JSON.parse(k) as [string, unknown];
    return [name, JSON.stringify(labels)];
  });
  writeFileSync(file, JSON.stringify({ series: list, rows }));
  return rows.length / 3;
}

function child(args: string[]): { lines: AsyncIterator<string>; stdin: NodeJS.WritableStream; done: Promise<number | null> } {
  // BENCH_PROF=<dir>: a CPU profile of each child, for where the time goes.
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', SELF, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  return { lines, stdin: proc.stdin, done: new Promise((r) => proc.once('exit', r)) };
}

async function nextJson<T>(lines: AsyncIterator<string>): Promise<T> {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error('the child ended without reporting');
    if (value.startsWith('{')) return JSON.parse(value) as T;
  }
}

async function post(port: number, bodies: readonly Buffer[]): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  let next = 0;
  const one = (body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/v1/metrics', method: 'POST', agent, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      // A refused request (503 while the queue is full) would be retried by a real exporter; the
      // default queue holds far more than this bench sends, so none is expected.
      while (next < bodies.length) await one(bodies[next++] as Buffer);
    }),
  );
  agent.destroy();
}

async function main(): Promise<void> {
  const points = Number(process.argv[2] ?? 400_000);
  const perRequest = Number(process.argv[3] ?? 1000);
  const rounds = Number(process.argv[4] ?? 3);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-otlp-pg-'));
  const server = await acquireEmbeddedPostgres(scratch);
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    await c.query(sql).finally(() => c.end());
  };
  const freshDatabase = async (name: string) => {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin(`CREATE DATABASE ${name}`);
    const u = new URL(server.url);
    u.pathname = `/${name}`;
    const pool = new pg.Pool({ connectionString: u.toString(), max: 1 });
    await migratePostgres(pool);
    await pool.end();
    return u.toString();
  };
  try {
    const bodies = await metricsRequests(points, perRequest, SERIES);
    const file = path.join(scratch, 'rows.json');
    const rows = rowsFile(bodies, file);
    const bytes = bodies.reduce((n, b) => n + b.length, 0);
    console.log(`${bodies.length} requests of ${perRequest} points (${Math.round(bytes / bodies.length).toLocaleString('en-US')} bytes of protobuf each), ${rows.toLocaleString('en-US')} rows, ${SERIES.toLocaleString('en-US')} series; ${rounds} rounds`);
    const agentRuns: ChildReport[] = [];
    const bareRuns: ChildReport[] = [];
    for (let round = 0; round < rounds; round++) {
      const dataDir = mkdtempSync(path.join(scratch, 'agent-'));
      const agent = child(['--agent', await freshDatabase('bench_otlp_agent'), dataDir, String(rows)]);
      const { port } = await nextJson<{ port: number }>(agent.lines);
      const t0 = performance.now();
      await post(port, bodies);
      const a = await nextJson<ChildReport>(agent.lines);
      agentRuns.push({ ...a, seconds: (performance.now() - t0) / 1000 });
      await agent.done;
      rmSync(dataDir, { recursive: true, force: true });

      const bare = child(['--bare', await freshDatabase('bench_otlp_bare'), file]);
      bareRuns.push(await nextJson<ChildReport>(bare.lines));
      await bare.done;
      const last = (xs: ChildReport[]) => xs[xs.length - 1] as ChildReport;
      console.log(`  round ${round + 1}: agent ${rate(last(agentRuns))}, bare ${rate(last(bareRuns))}`);
    }
    const med = (xs: ChildReport[], f: (r: ChildReport) => number) => [...xs.map(f)].sort((a, b) => a - b)[xs.length >> 1] as number;
    const perSec = (r: ChildReport) => r.rows / r.seconds;
    const cpuPerM = (r: ChildReport) => r.cpuUs / 1e6 / (r.rows / 1e6);
    const rss = (r: ChildReport) => r.maxRssBytes / 2 ** 20;
    const line = (label: string, xs: ChildReport[]) =>
      console.log(`${label} ${Math.round(med(xs, perSec)).toLocaleString('en-US').padStart(9)} rows/s   ${med(xs, cpuPerM).toFixed(2).padStart(6)} CPU-s per million rows   peak RSS ${Math.round(med(xs, rss))} MiB`);
    console.log('median of the rounds:');
    line('  agent (OTLP/HTTP → queue → postgres sink)', agentRuns);
    line('  bare (one binary COPY of the same rows)  ', bareRuns);
    console.log(
      `  ratios agent / bare: rows/s ${(med(agentRuns, perSec) / med(bareRuns, perSec)).toFixed(2)}, CPU per row ${(med(agentRuns, cpuPerM) / med(bareRuns, cpuPerM)).toFixed(1)}x, peak RSS ${(med(agentRuns, rss) / med(bareRuns, rss)).toFixed(1)}x`,
    );
  } finally {
    await releaseEmbeddedPostgres(scratch);
    rmSync(scratch, { recursive: true, force: true });
  }
}

function rate(r: ChildReport): string {
  return `${Math.round(r.rows / r.seconds).toLocaleString('en-US')} rows/s, ${(r.cpuUs / 1e6).toFixed(2)} CPU-s, ${Math.round(r.maxRssBytes / 2 ** 20)} MiB`;
}
