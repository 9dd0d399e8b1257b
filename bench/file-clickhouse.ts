/**
 * End to end, file → ClickHouse on the embedded engine (chdb): a file of JSON log lines (service,
 * level, message, ids and a few more fields, ~260 bytes a line) read by a Thermocline agent
 * (file source with `format = "json"` → disk queue → clickhouse sink on `chdb://`), beside a bare
 * script that reads the same file in big chunks, parses each line, builds the same row and inserts
 * the rows with `@clickhouse/client` in the sink's format (JSONCompactEachRow, `insert_deduplicate`
 * and a deduplication token in the statement's SETTINGS, as src/plugins/sinks/clickhouse/insert.ts
 * writes them), in inserts of the sink's default batch size (100,000 rows), one after another.
 *
 * chdb binds one data directory per process, so each side runs in a child process of its own,
 * with its own engine directory and the same tables (migrated before the clock starts). The agent
 * is started and has scanned its (still empty) directory before the clock starts; on "go" the log
 * file is linked into it, as a log appearing in a watched directory. Each child reports:
 *
 * - wall time from "go" until every row is in ClickHouse (the agent: its sink has acknowledged every
 *   line), and "sustained": lines per second up to the last full batch, without the final partial
 *   batch and the sink's wait for a fuller one (`batch.timeout_secs`);
 * - CPU seconds of the whole process (every thread: the engine's too) per million lines;
 * - peak RSS (`process.resourceUsage().maxRSS`);
 * - the garbage collector's pause as a share of the wall time (bench/gc-meter.ts);
 * - rows landed: `count()` and `uniqExact(trace_id)` must both equal the lines (exactly once).
 *
 * Goals: ≥ 1.0× the bare script's rate, ≥ 180k lines/s sustained, peak RSS within +100 MiB of it.
 * Sides alternate ROUNDS times (default 2); the best and median of each are printed.
 *
 *   [ROUNDS=2] [BENCH_PROFILE=1] npx tsx bench/file-clickhouse.ts [lines=1000000]
 *
 * BENCH_PROFILE=1 runs each child under the sampling CPU profiler and prints the share of the
 * garbage collector and the functions with the most self time (BENCH_PROF=dir also writes the
 * profiles); the rates of such a run are not comparable with the others.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { parseConfig } from '../src/core/config/load.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import { builtinRegistry } from '../src/plugins/registry.js';
import { connectClickHouse, migrateClickHouse } from '../src/storage/index.js';
import { type CpuProfileSummary, formatProfile, type GcFigures, withCpuProfile, withGcFigures } from './gc-meter.js';

const LINES = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const HOST = 'bench-host';
/** The clickhouse sink's default `batch.max_events`. */
const BATCH_ROWS = 100_000;
const CHUNK = 4 * 1024 * 1024;

const SERVICES = ['checkout', 'cart', 'payments', 'search', 'auth'];
const LEVELS = ['info', 'info', 'info', 'info', 'debug', 'warn', 'error'];
const ROUTES = ['/api/cart', '/api/checkout', '/api/login', '/healthz', '/api/search', '/api/orders'];
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1'];

/** Writes `lines` JSON log lines; returns the file's size. Line n carries trace id n, so rows can be counted distinct. */
function writeLogFile(file: string, lines: number): number {
  const fd = fs.openSync(file, 'w');
  // Recent times: rows older than the tables' TTL (docs/storage.md) would be deleted by the next merge.
  const t0 = Date.now() - lines;
  for (let n = 0; n < lines;) {
    const parts: string[] = [];
    for (let i = 0; i < 10_000 && n < lines; i++, n++) {
      const status = n % 53 === 0 ? 500 : 200;
      parts.push(
        `${JSON.stringify({
          timestamp: new Date(t0 + n).toISOString(),
          level: LEVELS[n % LEVELS.length],
          service: SERVICES[n % SERVICES.length],
          message: `GET ${ROUTES[n % ROUTES.length]}/${n % 1000} ${status} ${n % 97}ms`,
          trace_id: n.toString(16).padStart(32, '0'),
          span_id: (n * 7).toString(16).padStart(16, '0'),
          user: `u${n % 5000}`,
          region: REGIONS[n % REGIONS.length],
          status,
          duration_ms: n % 97,
        })}\n`,
      );
    }
    fs.writeSync(fd, parts.join(''));
  }
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

interface ChildReport {
  wallMs: number;
  /** Lines delivered up to the last full batch, and when (ms after "go"). */
  sustained: { lines: number; ms: number };
  cpuSeconds: number;
  maxRssBytes: number;
  /** Largest V8 heap and largest memory outside it (Buffers, strings handed to native code) seen, sampled every 50 ms. */
  maxHeapBytes: number;
  maxExternalBytes: number;
  gc: GcFigures;
  rows: number;
  distinct: number;
  profile?: CpuProfileSummary;
}

async function countRows(dataDir: string, chdbDir: string): Promise<{ rows: number; distinct: number }> {
  const engine = await connectClickHouse(`chdb://${chdbDir}`, { dataDir });
  const result = await engine.client.query({ query: 'SELECT count() AS n, uniqExact(trace_id) AS d FROM default.logs_events', format: 'JSONEachRow' });
  const [row] = await result.json<{ n: number | string; d: number | string }>();
  await engine.release();
  return { rows: Number(row?.n), distinct: Number(row?.d) };
}

async function migrate(dataDir: string, chdbDir: string): Promise<void> {
  const engine = await connectClickHouse(`chdb://${chdbDir}`, { dataDir });
  await migrateClickHouse(engine.client, { database: 'default' });
  await engine.release();
}

/**
 * A child's side: set up, say "ready", wait for "go", run (timed, CPU, GC), say "done <report>".
 * "go" comes over the IPC channel: stdin must not be a pipe, since the engine takes a piped stdin
 * as the data of an INSERT (and then refuses one that has its own).
 */
async function child(
  setUp: () => Promise<{ run: (mark: (lines: number) => void) => Promise<void>; count: () => Promise<{ rows: number; distinct: number }> }>,
): Promise<void> {
  process.on('SIGINT', () => process.exit(0));
  const { run, count } = await setUp();
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const cpu = process.cpuUsage();
  const started = performance.now();
  let sustained = { lines: 0, ms: 0 };
  // A mark per completed batch; the last one is the final partial batch, so "sustained" keeps the one before.
  let previous = { lines: 0, ms: 0 };
  const mark = (lines: number) => {
    sustained = previous;
    previous = { lines, ms: performance.now() - started };
  };
  let profile: CpuProfileSummary | undefined;
  let maxHeapBytes = 0;
  let maxExternalBytes = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    maxHeapBytes = Math.max(maxHeapBytes, m.heapTotal);
    maxExternalBytes = Math.max(maxExternalBytes, m.external);
  }, 50);
  const timed = () => withGcFigures(() => run(mark));
  const { gc } = process.env.BENCH_PROFILE
    ? await withCpuProfile(timed, process.env.BENCH_PROF, `file-clickhouse-${process.env.BENCH_ROLE}`).then((r) => ((profile = r.profile), r.result))
    : await timed();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  if (previous.lines < LINES || sustained.lines === 0) sustained = previous;
  const landed = await count();
  const report: ChildReport = {
    wallMs,
    sustained,
    cpuSeconds: (used.user + used.system) / 1e6,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    maxHeapBytes,
    maxExternalBytes,
    gc,
    ...landed,
    profile,
  };
  process.stdout.write(`done ${JSON.stringify(report)}\n`, () => process.exit(0));
}

/** The agent: file source (json) → disk queue → clickhouse sink on chdb, all defaults but the paths. */
async function agentSide(scratch: string, file: string): Promise<void> {
  const dataDir = path.join(scratch, 'agent');
  const chdbDir = path.join(dataDir, 'clickhouse');
  const watched = path.join(dataDir, 'in');
  fs.mkdirSync(watched, { recursive: true });
  await child(async () => {
    await migrate(dataDir, chdbDir);
    const toml = `data_dir = ${JSON.stringify(dataDir)}
[api]
enabled = false
[sources.logs]
type = "file"
include = [${JSON.stringify(path.join(watched, '*.log'))}]
format = "json"
host = "${HOST}"
[sinks.ch]
type = "clickhouse"
inputs = ["logs"]
url = ${JSON.stringify(`chdb://${chdbDir}`)}
`;
    const runtime = await Runtime.start(await parseConfig(toml, { registry: builtinRegistry(), env: {} }), {
      logger: pino({ level: process.env.BENCH_LOG ?? 'warn' }, pino.destination(2)),
    });
    // The source's first scan is done once it has written a checkpoint.
    while (runtime.store.getCheckpoint('logs') === undefined) await new Promise((r) => setTimeout(r, 10));
    const sent = () => runtime.metrics.componentStats().find((s) => s.id === 'ch' && s.kind === 'sink')?.sentEvents ?? 0;
    return {
      run: async (mark) => {
        fs.linkSync(file, path.join(watched, 'app.log'));
        let last = 0;
        while (last < LINES) {
          await new Promise((r) => setTimeout(r, 2));
          const now = sent();
          if (now !== last) mark((last = now));
        }
      },
      count: async () => {
        const landed = await countRows(dataDir, chdbDir);
        await runtime.stop();
        return landed;
      },
    };
  });
}

/**
 * The bare script: what an application writing its log file to ClickHouse itself would do, with the
 * same mapping as the file source's defaults (known fields to columns, the rest to string labels,
 * plus the path label) and the sink's insert statement.
 */
async function bareSide(scratch: string, file: string): Promise<void> {
  const dataDir = path.join(scratch, 'bare');
  const chdbDir = path.join(dataDir, 'clickhouse');
  await child(async () => {
    await migrate(dataDir, chdbDir);
    const engine = await connectClickHouse(`chdb://${chdbDir}`, { dataDir });
    const { client } = engine;
    let inserts = 0;
    const insert = async (rows: string[]) => {
      const result = await client.exec({
        query: `INSERT INTO default.logs_events (timestamp, service, host, level, trace_id, span_id, message, labels) SETTINGS insert_deduplicate = 1, insert_deduplication_token = 'bare:${inserts++}' FORMAT JSONCompactEachRow`,
        values: Readable.from([rows.join('')]),
      });
      result.stream.resume();
      await finished(result.stream);
    };
    const row = (line: string): string => {
      const rec = JSON.parse(line) as Record<string, unknown>;
      const labels: Record<string, string> = {};
      for (const k in rec) {
        if (k === 'timestamp' || k === 'level' || k === 'service' || k === 'message' || k === 'trace_id' || k === 'span_id') continue;
        labels[k] = String(rec[k]);
      }
      labels.file = file;
      return `${JSON.stringify([Date.parse(rec.timestamp as string), rec.service, HOST, rec.level, rec.trace_id, rec.span_id, rec.message, labels])}\n`;
    };
    return {
      run: async (mark) => {
        const fd = await fs.promises.open(file, 'r');
        const buf = Buffer.allocUnsafe(CHUNK + 65_536);
        let carry = 0;
        let pos = 0;
        let rows: string[] = [];
        let done = 0;
        for (;;) {
          const { bytesRead } = await fd.read(buf, carry, CHUNK, pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          const end = carry + bytesRead;
          let start = 0;
          for (let nl = buf.indexOf(10, start); nl >= 0 && nl < end; nl = buf.indexOf(10, start)) {
            rows.push(row(buf.toString('utf8', start, nl)));
            start = nl + 1;
            if (rows.length === BATCH_ROWS) {
              await insert(rows);
              mark((done += rows.length));
              rows = [];
            }
          }
          carry = end - start;
          buf.copy(buf, 0, start, end);
        }
        await fd.close();
        if (rows.length > 0) {
          await insert(rows);
          mark((done += rows.length));
        }
      },
      count: async () => {
        await engine.release();
        return countRows(dataDir, chdbDir);
      },
    };
  });
}

const role = process.env.BENCH_ROLE;
if (role === 'agent') await agentSide(process.env.BENCH_DIR as string, process.env.BENCH_FILE as string);
else if (role === 'bare') await bareSide(process.env.BENCH_DIR as string, process.env.BENCH_FILE as string);
else {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-file-ch-'));
  try {
    const file = path.join(scratch, 'app.log');
    const bytes = writeLogFile(file, LINES);
    const load = () =>
      os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join('/');
    console.log(
      `${LINES.toLocaleString('en')} JSON lines of ~${Math.round(bytes / LINES)} B (${(bytes / 1e6).toFixed(0)} MB); inserts of ${BATCH_ROWS.toLocaleString('en')} rows; ${os.cpus().length} CPUs, Node ${process.version}; load ${load()}`,
    );
    const self = fileURLToPath(import.meta.url);
    let runs = 0;
    const runChild = async (name: 'agent' | 'bare'): Promise<ChildReport> => {
      const dir = path.join(scratch, `run-${++runs}`);
      fs.mkdirSync(dir);
      const p: ChildProcess = spawn(process.execPath, ['--import', 'tsx', self, ...process.argv.slice(2)], {
        env: { ...process.env, BENCH_ROLE: name, BENCH_DIR: dir, BENCH_FILE: file },
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      });
      const exited = new Promise<number | null>((resolve) => p.once('exit', resolve));
      const lines = readline.createInterface({ input: p.stdout as NonNullable<ChildProcess['stdout']> });
      const next = (prefix: string) =>
        Promise.race([
          new Promise<string>((resolve) => lines.on('line', (l) => l.startsWith(prefix) && resolve(l))),
          exited.then((code) => Promise.reject(new Error(`${name} exited with ${code} before "${prefix}"`))),
        ]);
      await next('ready');
      p.send('go');
      const report = JSON.parse((await next('done ')).slice(5)) as ChildReport;
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
      if (report.rows !== LINES || report.distinct !== LINES)
        throw new Error(`${name}: ${report.rows} rows (${report.distinct} distinct) landed, expected ${LINES}`);
      return report;
    };
    const rate = (r: ChildReport) => LINES / (r.wallMs / 1000);
    const sustained = (r: ChildReport) => r.sustained.lines / (r.sustained.ms / 1000);
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
    const show = (name: string, r: ChildReport) =>
      console.log(
        `  ${name.padEnd(6)} ${(r.wallMs / 1000).toFixed(2).padStart(6)} s ${Math.round(rate(r)).toLocaleString('en').padStart(9)} lines/s, sustained ${Math.round(sustained(r)).toLocaleString('en').padStart(9)} lines/s | ${((r.cpuSeconds / LINES) * 1e6).toFixed(2).padStart(5)} CPU-s/M lines | peak RSS ${mib(r.maxRssBytes).padStart(8)} (V8 heap ${mib(r.maxHeapBytes)}, external ${mib(r.maxExternalBytes)}) | GC ${((r.gc.pauseMs / r.wallMs) * 100).toFixed(1).padStart(4)} % of wall | rows ${r.rows.toLocaleString('en')} (distinct ${r.distinct.toLocaleString('en')})${r.profile ? `\n         profile: ${formatProfile(r.profile, 12)}` : ''}`,
      );
    const agent: ChildReport[] = [];
    const bare: ChildReport[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round} (load ${load()})`);
      const a = await runChild('agent');
      show('agent', a);
      agent.push(a);
      const b = await runChild('bare');
      show('bare', b);
      bare.push(b);
    }
    const pick = (rs: ChildReport[], f: (r: ChildReport) => number) => {
      const sorted = rs.map(f).sort((x, y) => x - y);
      return { best: sorted[sorted.length - 1] as number, median: sorted[Math.floor((sorted.length - 1) / 2)] as number };
    };
    const line = (what: string, f: (r: ChildReport) => number, unit: (x: number) => string, higherIsBetter = true) => {
      const a = pick(agent, higherIsBetter ? f : (r) => -f(r));
      const b = pick(bare, higherIsBetter ? f : (r) => -f(r));
      const s = higherIsBetter ? 1 : -1;
      console.log(
        `${what.padEnd(26)} agent ${unit(s * a.best)} (median ${unit(s * a.median)})  bare ${unit(s * b.best)} (median ${unit(s * b.median)})  ratio ${((s * a.median) / (s * b.median)).toFixed(2)}× (medians)`,
      );
    };
    const k = (x: number) => `${Math.round(x / 1000)}k lines/s`;
    line('end to end', rate, k);
    line('sustained', sustained, k);
    line(
      'CPU-s per M lines',
      (r) => (r.cpuSeconds / LINES) * 1e6,
      (x) => x.toFixed(2),
      false,
    );
    line('peak RSS', (r) => r.maxRssBytes, mib, false);
    const rssGap = pick(agent, (r) => -r.maxRssBytes).median * -1 - pick(bare, (r) => -r.maxRssBytes).median * -1;
    console.log(`peak RSS, agent − bare (medians): ${rssGap >= 0 ? '+' : ''}${mib(rssGap)}`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
