/**
 * The agent's own ceiling when the database is on another machine, as in production: what a
 * Thermocline agent (a child process running `thermocline run`) costs to move data from its
 * input to ClickHouse's HTTP interface, beside a bare script doing the same work in a child
 * process of its own, in the same run. ClickHouse is replaced by a server in this process that
 * answers what the clickhouse sink asks (`DESCRIBE TABLE` with the seed columns) and reads every
 * INSERT body to the end without parsing it (bench/clickhouse-wire.ts), so that only the agent's
 * work is measured.
 *
 *   json / plain   a file of LINES log lines → `file` source (`format = "json"` / `"plain"`) →
 *                  disk queue → clickhouse sink (gzip, the sink's insert format) → the server.
 *                  Bare: read the same file in 4 MiB chunks, split lines, JSON.parse, build the
 *                  same logs_events rows, encode them in the format the agent's INSERTs named,
 *                  gzip at level 1, POST them as the agent did (the same INSERTs of the same sizes),
 *                  one after another (the next batch built while one is in flight), with the
 *                  agent's SETTINGS clause.
 *   otlp           protobuf /v1/traces, 512 spans a request made once by the OpenTelemetry SDK's
 *                  serializer, sent by a worker thread over 8 keep-alive connections →
 *                  `otlp_http` → disk queue → the same sink → the server (rows in `spans` and
 *                  `span_events`). Bare: a node:http server decoding each request with the
 *                  OpenTelemetry project's protobufjs code (@opentelemetry/otlp-transformer),
 *                  building the span rows, answering 200, and POSTing batches as above.
 *
 * Timed from the moment the input is offered (the file linked into the watched directory, the
 * first request) until the server answered the last INSERT. The agent is done when its sink's
 * `thermocline_clickhouse_rows_written_total` reaches the expected rows; a verification pass
 * outside the timing decompresses every body both sides sent and counts the rows. CPU is the
 * child's user + system time over the run (/proc/<pid>/stat, all threads), RSS its VmHWM.
 *
 *   npx tsx bench/agent-ceiling.ts [lines=1000000] [spans=500000]
 *
 * ROUNDS=3 (agent and bare interleaved, best and median printed), PATHS=json,plain,otlp,
 * BENCH_PROF=dir writes a CPU profile of each agent child and prints its top self time within
 * the timed window, AGENT_NODE_FLAGS="--max-semi-space-size=8" gives the agent child node flags.
 *
 * Goals: ≥ 400k lines/s and ≥ 150k spans/s through the agent; agent CPU per 1 M lines ≤ 1.2×
 * the bare script's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { countRows, DiscardServer, encodeRows, type Insert, parseInsert, postInsert, profileSummary } from './clickhouse-wire.js';
import { cpuSeconds, median, peakRss } from './process-figures.js';
import { forEachSpan, type PbRequest, SPAN_COLUMNS, SPAN_EVENT_COLUMNS, traceRequestDecoder } from './otlp-span-rows.js';

const gzip = promisify(zlib.gzip);
const GZIP_LEVEL = 1; // as src/plugins/sinks/clickhouse/insert.ts
const HOST = 'bench-host';
const SPANS_PER_REQUEST = 512;
const CONNECTIONS = 8;
const CHUNK = 4 * 1024 * 1024;

/** One delivery of the agent: its INSERTs in order, each a table and a row count. */
type Delivery = Array<[table: string, rows: number]>;

/** What a bare child is told: where to POST, the agent's INSERT statements and deliveries. */
interface Plan {
  port: number;
  /** Table → one of the agent's INSERT statements into it. */
  queries: Record<string, string>;
  /** The agent's deliveries in order (cycled): the bare script sends the same batches. */
  deliveries: Delivery[];
  /** json / plain: the file; otlp: the spans to expect. */
  file?: string;
  format?: 'json' | 'plain';
  spans?: number;
}

// ---------------------------------------------------------------- bare children

/** A bare child: "ready [port]" once set up; runs at "go" (or at once); "done" when finished. */
async function child(setUp: () => Promise<{ port?: number; run: () => Promise<void> }>): Promise<void> {
  process.on('SIGINT', () => process.exit(0));
  const { port, run } = await setUp();
  process.stdout.write(`ready${port === undefined ? '' : ` ${port}`}\n`);
  if (port === undefined) await new Promise<void>((resolve) => readline.createInterface({ input: process.stdin }).once('line', () => resolve()));
  await run();
  process.stdout.write('done\n');
  await new Promise(() => {});
}

/** POSTs insert bodies to the server one after another, the next one encoded meanwhile. */
function poster(plan: Plan) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const templates = new Map(
    Object.entries(plan.queries).map(([table, q]) => [table, { q, ...(parseInsert(q) as NonNullable<ReturnType<typeof parseInsert>>) }]),
  );
  let n = 0;
  const post = (table: string, body: Buffer) => {
    const t = templates.get(table) as { q: string };
    return postInsert(plan.port, agent, t.q.replace(/insert_deduplication_token = '[^']*'/, `insert_deduplication_token = 'bare:${n++}:${table}'`), body);
  };
  const sendRows = async (table: string, rows: unknown[][]) => {
    const t = templates.get(table);
    if (!t) throw new Error(`the agent sent no INSERT into ${table}`);
    await post(table, await gzip(encodeRows(t.format, table, t.columns, rows), { level: GZIP_LEVEL }));
  };
  /** Sends one batch as the agent sent its delivery: the same INSERTs, in order, of the same sizes. */
  const send = async (inserts: Delivery, rows: Record<string, unknown[][]>) => {
    const sent = new Map<string, number>();
    for (const [i, [table, n]] of inserts.entries()) {
      const all = rows[table] ?? [];
      const from = sent.get(table) ?? 0;
      const to = inserts.slice(i + 1).some(([t]) => t === table) ? Math.min(all.length, from + n) : all.length;
      sent.set(table, to);
      if (to > from) await sendRows(table, all.slice(from, to));
    }
    for (const [table, all] of Object.entries(rows)) if ((sent.get(table) ?? 0) < all.length) await sendRows(table, all.slice(sent.get(table) ?? 0));
  };
  /** Rows are built in `canonical` column order; this reorders them to the agent's. */
  const order = (table: string, canonical: readonly string[]) => {
    const columns = templates.get(table)?.columns ?? canonical;
    const perm = columns.map((c) => canonical.indexOf(c));
    if (perm.some((i) => i < 0)) throw new Error(`the agent's INSERT into ${table} has columns the bare script does not fill: ${columns.join(', ')}`);
    return perm.every((i, j) => i === j) ? (row: unknown[]) => row : (row: unknown[]) => perm.map((i) => row[i]);
  };
  let chain: Promise<void> = Promise.resolve();
  let delivery = 0;
  const current = () => plan.deliveries[delivery % plan.deliveries.length] as Delivery;
  return {
    order,
    /** The rows of `table` the next batch holds. */
    target: (table: string) => current().reduce((n, [t, rows]) => (t === table ? n + rows : n), 0),
    /** Queues a batch behind the one in flight; resolves when the one before it is sent. */
    async enqueue(rows: Record<string, unknown[][]>): Promise<void> {
      const before = chain;
      const inserts = current();
      delivery++;
      chain = before.then(() => send(inserts, rows));
      await before;
    },
    flushed: () => chain,
  };
}

const LOG_COLUMNS = ['timestamp', 'service', 'host', 'level', 'trace_id', 'span_id', 'message', 'labels'];
const ROLE_FIELDS = new Set(['timestamp', 'level', 'service', 'message', 'trace_id', 'span_id']);

async function bareFile(plan: Plan): Promise<void> {
  const out = poster(plan);
  const row = out.order('logs_events', LOG_COLUMNS);
  const file = plan.file as string;
  const json = plan.format === 'json';
  const fd = await fs.promises.open(file, 'r');
  const buf = Buffer.allocUnsafe(CHUNK + 65_536);
  let rows: unknown[][] = [];
  let target = out.target('logs_events');
  let carry = 0;
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fd.read(buf, carry, CHUNK, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    const end = carry + bytesRead;
    const nowMs = Date.now();
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0 && nl < end; nl = buf.indexOf(10, start)) {
      const line = buf.toString('utf8', start, nl);
      start = nl + 1;
      if (json) {
        const rec = JSON.parse(line) as Record<string, unknown>;
        const labels: Record<string, string> = {};
        for (const k in rec) if (!ROLE_FIELDS.has(k)) labels[k] = typeof rec[k] === 'string' ? (rec[k] as string) : JSON.stringify(rec[k]);
        labels.file = file;
        rows.push(row([Date.parse(rec.timestamp as string), rec.service, HOST, rec.level, rec.trace_id ?? '', rec.span_id ?? '', rec.message, labels]));
      } else rows.push(row([nowMs, 'bench', HOST, '', '', '', line, { file }]));
      if (rows.length >= target) {
        await out.enqueue({ logs_events: rows });
        rows = [];
        target = out.target('logs_events');
      }
    }
    carry = end - start;
    buf.copy(buf, 0, start, end);
  }
  await fd.close();
  if (rows.length > 0) await out.enqueue({ logs_events: rows });
  await out.flushed();
}

async function bareOtlp(plan: Plan): Promise<{ port: number; run: () => Promise<void> }> {
  const decode = traceRequestDecoder();
  const out = poster(plan);
  const spanRow = out.order('spans', SPAN_COLUMNS);
  const eventRow = out.order('span_events', SPAN_EVENT_COLUMNS);
  let spans: unknown[][] = [];
  let events: unknown[][] = [];
  let received = 0;
  let target = out.target('spans');
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  /** The batch cut last: a request answered after it waits until the batch before it is sent. */
  let queued: Promise<void> = Promise.resolve();
  const take = (req: PbRequest) =>
    forEachSpan(req, (span, spanEvents) => {
      spans.push(spanRow(span));
      for (const e of spanEvents) events.push(eventRow(e));
      received++;
      if (spans.length >= target || received === plan.spans) {
        queued = out.enqueue({ spans, span_events: events });
        spans = [];
        events = [];
        target = out.target('spans');
        if (received === plan.spans) void out.flushed().then(finish);
      }
    });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      take(decode(Buffer.concat(chunks)));
      // As the file path: one batch in flight, the next one built; the clients wait meanwhile.
      void queued.then(() => res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' }).end());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, run: () => finished };
}

// ---------------------------------------------------------------- parent

/** One request body of 512 spans (bench/otlp-spans.ts), loaded only where spans are sent. */
async function otlpPayload(): Promise<Buffer> {
  const { tracesRequest } = await import('./otlp-spans.js');
  return tracesRequest(SPANS_PER_REQUEST);
}

/** Sends `requests` copies of `body`, retrying any answer but 200 as an exporter would. */
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { port, body, connections, requests } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const counts = {};
let next = 0;
function one() {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/traces', method: 'POST', agent,
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => { counts[res.statusCode] = (counts[res.statusCode] || 0) + 1; resolve(res.statusCode === 200); });
    });
    req.on('error', (e) => { counts[e.code] = (counts[e.code] || 0) + 1; setTimeout(() => resolve(false), 100); });
    req.end(body);
  });
}
async function loop() { while (next < requests) { next++; while (!(await one())) await new Promise((r) => setTimeout(r, 100)); } }
Promise.all(Array.from({ length: connections }, loop)).then(() => { agent.destroy(); parentPort.postMessage(counts); });
`;

function load(port: number, body: Buffer, requests: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(LOAD_WORKER, { eval: true, workerData: { port, body, connections: CONNECTIONS, requests } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

/** JSON lines with service, level, message and a few fields (~220 B), or plain lines (~110 B). */
function writeLines(file: string, lines: number, json: boolean): number {
  const fd = fs.openSync(file, 'w');
  const levels = ['info', 'info', 'info', 'debug', 'warn', 'error'];
  const routes = ['/api/cart', '/api/checkout', '/api/login', '/healthz', '/api/search'];
  const t0 = Date.UTC(2026, 11, 1);
  let bytes = 0;
  for (let n = 0; n < lines;) {
    const parts: string[] = [];
    for (const end = Math.min(lines, n + 10_000); n < end; n++) {
      const ts = new Date(t0 + n).toISOString();
      const route = routes[n % routes.length] as string;
      const level = levels[n % levels.length] as string;
      parts.push(
        json
          ? `{"timestamp":"${ts}","level":"${level}","service":"checkout","message":"GET ${route}/${n % 1000} 200 ${n % 97}ms","trace_id":"${n.toString(16).padStart(32, '0')}","user":"u${n % 5000}","status":${n % 50 === 0 ? 500 : 200},"duration_ms":${n % 97}}\n`
          : `${ts} ${level.toUpperCase()} checkout GET ${route}/${n % 1000} 200 ${n % 97}ms user=u${n % 5000} trace=${n.toString(16)}\n`,
      );
    }
    const chunk = parts.join('');
    fs.writeSync(fd, chunk);
    bytes += Buffer.byteLength(chunk);
  }
  fs.closeSync(fd);
  return bytes;
}

interface Side {
  seconds: number;
  cpu: number;
  rss: number;
  inserts: Insert[];
}

interface Verified {
  /** Table → rows, raw (uncompressed) bytes, wire bytes, inserts, rows per insert. */
  tables: Map<string, { rows: number; raw: number; wire: number; perInsert: number[] }>;
  format: string;
  queries: Record<string, string>;
  deliveries: Delivery[];
}

function verify(inserts: readonly Insert[]): Verified {
  const tables: Verified['tables'] = new Map();
  const queries: Record<string, string> = {};
  const deliveries: Delivery[] = [];
  let last = '';
  for (const i of inserts) {
    const raw = zlib.gunzipSync(Buffer.concat(i.body ?? []));
    const rows = countRows(i.format, i.table, i.columns, raw);
    const t = tables.get(i.table) ?? { rows: 0, raw: 0, wire: 0, perInsert: [] };
    t.rows += rows;
    t.raw += raw.length;
    t.wire += i.wireBytes;
    t.perInsert.push(rows);
    tables.set(i.table, t);
    queries[i.table] ??= i.query;
    // The token is `<sink>@<instance>:<first seq>:<table>[:<part>]` (docs/storage.md#exactly-once-delivery).
    const delivery = /insert_deduplication_token = '([^:']*:[^:']*)/.exec(i.query)?.[1] ?? i.query;
    if (delivery !== last) deliveries.push([]);
    last = delivery;
    deliveries.at(-1)?.push([i.table, rows]);
  }
  return { tables, format: [...new Set(inserts.map((i) => i.format))].join('+'), queries, deliveries };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const LINES = Number(process.argv[2] ?? 1_000_000);
  const SPANS = Number(process.argv[3] ?? 500_000);
  const ROUNDS = Number(process.env.ROUNDS ?? 3);
  const PATHS = (process.env.PATHS ?? 'json,plain,otlp').split(',');
  const PROF = process.env.BENCH_PROF ? path.resolve(process.env.BENCH_PROF) : undefined;
  const { exited, freePorts, packageRoot } = await import('../src/testing/agent-process.js');

  const profFlags = PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`] : [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-ceiling-'));
  const server = new DiscardServer();
  const chPort = await server.listen();
  const self = fileURLToPath(import.meta.url);
  let runs = 0;

  const metric = async (api: string, name: string) => {
    const text = await (await fetch(`${api}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };

  /**
   * The main thread's profile of the child that just exited (the largest written since `since`;
   * tsx's loader thread writes a small one of its own), its samples between two hrtime readings.
   */
  const printProfile = (since: number, from: bigint, to: bigint) => {
    const file = fs
      .readdirSync(PROF as string)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => ({ f: path.join(PROF as string, f), st: fs.statSync(path.join(PROF as string, f)) }))
      .filter((x) => x.st.mtimeMs >= since)
      .sort((a, b) => b.st.size - a.st.size)[0]?.f;
    if (file) console.log(`    ${file} (timed window):\n${profileSummary(file, Number(from / 1000n), Number(to / 1000n))}`);
  };

  /** One agent run: start it, offer the input, wait until `rows` rows are written. */
  const agentRun = async (source: string, rows: number, offer: (run: { dir: string; port: number }) => Promise<unknown>): Promise<Side> => {
    const since = Date.now();
    const dir = path.join(scratch, `run-a${++runs}`);
    fs.mkdirSync(dir);
    const [apiPort, sourcePort] = await freePorts(2);
    const config = path.join(dir, 'agent.toml');
    fs.writeFileSync(
      config,
      `data_dir = ${JSON.stringify(path.join(dir, 'data'))}
[log]
level = "warn"
[api]
address = "127.0.0.1:${apiPort}"
${source.replaceAll('{dir}', dir).replaceAll('{port}', String(sourcePort))}
[sinks.ch]
type = "clickhouse"
inputs = ["in"]
url = "http://default:x@127.0.0.1:${chPort}/default"
migrate = false
`,
    );
    // `thermocline run` from the sources, as src/testing/agent-process.ts starts it (which takes no node flags).
    const agentFlags = (process.env.AGENT_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const agent = spawn(process.execPath, [...profFlags, ...agentFlags, '--import', 'tsx', path.join(packageRoot, 'src/cli.ts'), 'run', '-c', config], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const s of [agent.stdout, agent.stderr]) s.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-5000)));
    const api = `http://127.0.0.1:${apiPort}`;
    for (const deadline = Date.now() + 120_000; ; await sleep(100)) {
      if (agent.exitCode !== null || Date.now() > deadline) throw new Error(`the agent did not start:\n${output}`);
      if ((await fetch(`${api}/health`).catch(() => undefined))?.status === 200) break;
    }
    await sleep(300);
    server.take();
    const pid = agent.pid as number;
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const hr0 = process.hrtime.bigint();
    const offered = offer({ dir, port: sourcePort as number });
    for (const deadline = Date.now() + 600_000; (await metric(api, 'thermocline_clickhouse_rows_written_total')) < rows; await sleep(100)) {
      if (agent.exitCode !== null || Date.now() > deadline) throw new Error(`the agent did not deliver ${rows} rows:\n${output}`);
    }
    const hr1 = process.hrtime.bigint();
    const cpu = cpuSeconds(pid) - cpu0;
    const rss = peakRss(pid);
    const counts = await offered;
    const seconds = (server.lastAnswer() - t0) / 1000;
    agent.kill('SIGTERM');
    await exited(agent);
    if (counts && typeof counts === 'object' && Object.keys(counts).some((k) => k !== '200')) console.log(`    agent answers: ${JSON.stringify(counts)}`);
    if (PROF) printProfile(since, hr0, hr1);
    fs.rmSync(dir, { recursive: true, force: true });
    return { seconds, cpu, rss, inserts: server.take() };
  };

  /** One bare run: a child with `plan`; `offer` (if any) gives it its input once it is ready. */
  const bareRun = async (name: string, plan: Plan, offer?: (port: number) => Promise<unknown>): Promise<Side> => {
    const since = Date.now();
    const p: ChildProcess = spawn(process.execPath, [...profFlags, '--import', 'tsx', self], {
      env: { ...process.env, BENCH_ROLE: name, BENCH_PLAN: JSON.stringify(plan) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = readline.createInterface({ input: p.stdout as NodeJS.ReadableStream });
    const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
    const ready = await next();
    await sleep(300);
    server.take();
    const pid = p.pid as number;
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const hr0 = process.hrtime.bigint();
    const done = next();
    const port = Number(ready.split(' ')[1]);
    const offered = offer ? offer(port) : (p.stdin?.write('go\n'), undefined);
    await done;
    const cpu = cpuSeconds(pid) - cpu0;
    const rss = peakRss(pid);
    await offered;
    const seconds = (server.lastAnswer() - t0) / 1000;
    const hr1 = process.hrtime.bigint();
    p.kill('SIGINT');
    await new Promise((r) => (p.exitCode === null ? p.once('exit', r) : r(undefined)));
    if (PROF) printProfile(since, hr0, hr1);
    return { seconds, cpu, rss, inserts: server.take() };
  };

  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
  const summaries: string[] = [];

  /** Runs a path's pairs, prints each round and the summary. */
  const pair = async (
    label: string,
    unit: string,
    items: number,
    rowsExpected: number,
    agentSide: () => Promise<Side>,
    bareSide: (plan: Plan) => Promise<Side>,
  ) => {
    const results: Array<{ agent: Side; bare: Side }> = [];
    let wire = '';
    for (let r = 0; r < ROUNDS; r++) {
      const agent = await agentSide();
      const va = verify(agent.inserts);
      const agentRows = [...va.tables.values()].reduce((n, t) => n + t.rows, 0);
      if (agentRows !== rowsExpected) throw new Error(`${label}: the agent sent ${agentRows} rows, expected ${rowsExpected}`);
      const bare = await bareSide({ port: chPort, queries: va.queries, deliveries: va.deliveries });
      const vb = verify(bare.inserts);
      const bareRows = [...vb.tables.values()].reduce((n, t) => n + t.rows, 0);
      if (bareRows !== rowsExpected) throw new Error(`${label}: the bare script sent ${bareRows} rows, expected ${rowsExpected}`);
      results.push({ agent, bare });
      const mb = (v: Verified, key: 'wire' | 'raw') => ([...v.tables.values()].reduce((n, x) => n + x[key], 0) / 1e6).toFixed(1);
      const perTable = (v: Verified) => [...v.tables].map(([name, x]) => `${name} ${x.perInsert.length} × ${fmt(x.rows / x.perInsert.length)} rows`).join(', ');
      wire = `format ${va.format}; agent inserts: ${perTable(va)}, ${mb(va, 'wire')} MB gzip of ${mb(va, 'raw')} MB; bare inserts: ${perTable(vb)}, ${mb(vb, 'wire')} MB gzip of ${mb(vb, 'raw')} MB${mb(va, 'raw') === mb(vb, 'raw') ? ' (the same rows)' : " (rows DIFFER from the agent's)"}`;
      const line = (s: Side) =>
        `${fmt(items / s.seconds).padStart(9)} ${unit}/s  ${((s.cpu / items) * 1e6).toFixed(2).padStart(6)} CPU-s/M  peak RSS ${mib(s.rss)}`;
      console.log(
        `  ${label} round ${r + 1}: agent ${line(agent)} | bare ${line(bare)} | rate ${(bare.seconds / agent.seconds).toFixed(2)}×, CPU ${(agent.cpu / bare.cpu).toFixed(2)}×`,
      );
    }
    const stat = (pick: (s: Side) => number, side: 'agent' | 'bare') => results.map((x) => pick(x[side]));
    const rate = (s: Side) => items / s.seconds;
    const cpuPerM = (s: Side) => (s.cpu / items) * 1e6;
    const row = (side: 'agent' | 'bare') =>
      `${side.padEnd(5)}  ${unit}/s median ${fmt(median(stat(rate, side)))}, best ${fmt(Math.max(...stat(rate, side)))}   CPU-s per M median ${median(stat(cpuPerM, side)).toFixed(2)}, best ${Math.min(...stat(cpuPerM, side)).toFixed(2)}   peak RSS ${mib(Math.max(...stat((s) => s.rss, side)))}`;
    summaries.push(
      [
        `${label}: ${fmt(items)} ${unit}, ${ROUNDS} rounds; ${wire}`,
        `  ${row('agent')}`,
        `  ${row('bare')}`,
        `  agent/bare: rate median ${(median(stat(rate, 'agent')) / median(stat(rate, 'bare'))).toFixed(2)}×, best ${(Math.max(...stat(rate, 'agent')) / Math.max(...stat(rate, 'bare'))).toFixed(2)}×; CPU median ${(median(stat(cpuPerM, 'agent')) / median(stat(cpuPerM, 'bare'))).toFixed(2)}×, best ${(Math.min(...stat(cpuPerM, 'agent')) / Math.min(...stat(cpuPerM, 'bare'))).toFixed(2)}×`,
      ].join('\n'),
    );
  };

  console.log(
    `${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, Node ${process.version}`,
  );
  const data = path.join(scratch, 'data');
  fs.mkdirSync(data);
  for (const format of ['json', 'plain'] as const) {
    if (!PATHS.includes(format)) continue;
    const source = path.join(data, `${format}.log`);
    const bytes = writeLines(source, LINES, format === 'json');
    console.log(`${format}: ${fmt(LINES)} lines, ${(bytes / 1e6).toFixed(0)} MB`);
    const link = (dir: string) => {
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, 'app.log');
      fs.linkSync(source, file);
      return file;
    };
    await pair(
      format,
      'lines',
      LINES,
      LINES,
      // The file appears whole, at once: a hard link into the watched directory.
      () =>
        agentRun(
          `[sources.in]\ntype = "file"\ninclude = ["{dir}/logs/*.log"]\nformat = "${format}"\nservice = "bench"\nhost = "${HOST}"\nglob_interval_secs = 1\n`,
          LINES,
          async ({ dir }) => link(path.join(dir, 'logs')),
        ),
      (plan) => {
        const file = link(path.join(scratch, `run-b${++runs}`, 'logs'));
        return bareRun('bare-file', { ...plan, file, format }).finally(() => fs.rmSync(path.dirname(path.dirname(file)), { recursive: true, force: true }));
      },
    );
  }

  if (PATHS.includes('otlp')) {
    const body = await otlpPayload();
    const requests = Math.ceil(SPANS / SPANS_PER_REQUEST);
    const spans = requests * SPANS_PER_REQUEST;
    const eventsPerRequest = Array.from({ length: SPANS_PER_REQUEST }, (_, i) => i).filter((i) => i % 10 === 0).length;
    const rows = requests * (SPANS_PER_REQUEST + eventsPerRequest);
    console.log(`otlp: ${fmt(requests)} requests of ${SPANS_PER_REQUEST} spans (${body.length} bytes of protobuf), ${CONNECTIONS} connections`);
    await pair(
      'otlp',
      'spans',
      spans,
      rows,
      () => agentRun(`[sources.in]\ntype = "otlp_http"\naddress = "127.0.0.1:{port}"\n`, rows, ({ port }) => load(port, body, requests)),
      (plan) => bareRun('bare-otlp', { ...plan, spans }, (port) => load(port, body, requests)),
    );
  }

  console.log(
    `\nload average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const s of summaries) console.log(s);
  console.log('goals: ≥ 400,000 lines/s and ≥ 150,000 spans/s through the agent; agent CPU per 1 M lines ≤ 1.2× the bare script');
  await server.close();
  fs.rmSync(scratch, { recursive: true, force: true });
}

const role = process.env.BENCH_ROLE;
if (role === 'bare-file') {
  const plan = JSON.parse(process.env.BENCH_PLAN as string) as Plan;
  await child(async () => ({ run: () => bareFile(plan) }));
} else if (role === 'bare-otlp') {
  const plan = JSON.parse(process.env.BENCH_PLAN as string) as Plan;
  await child(() => bareOtlp(plan));
} else {
  await main();
}
