/**
 * Throughput of the file source: `file → queue → blackhole`, in-process through the
 * real runtime and the SQLite queue, on a file of ~170-byte JSON log lines, beside a bare Node
 * line splitter that reads the same file in the same big chunks and builds one object per line
 * (the most a single-threaded Node reader could do). Reported for `format = "plain"` (the
 * headline figure) and `format = "json"` (whose baseline also runs `JSON.parse` per line).
 * Goal: >= 1,000,000 lines/s. Vector's published file→tcp figure is 76.7 MiB/s (~470k such
 * lines/s) on a similar 2-vCPU machine.
 *
 * A second row runs the source alone, its `emit` and `emitEncoded` discarding the batches (but
 * still building each checkpoint, and checking an encoded batch's checksum as the core does), to separate the source's own cost from the queue's (encode, SQLite, decode);
 * a further row swaps the SQLite queue for `buffer.type = "memory"` (still encoded and decoded), and a
 * last one puts `canonicalize_labels` between the source and the queue (the events are decoded for it).
 * Each row also gives CPU microseconds per line, which moves less than wall time when other
 * processes share the machine.
 *
 * Garbage: each row also gives the collector's pause and the bytes allocated per line, from V8's GC
 * profiler around the run (bench/gc-meter.ts; the `pause=` and `allocated=` of `--trace-gc-nvp`).
 * A last pass runs the source alone under the sampling CPU profiler and prints the share of the
 * `(garbage collector)` node and the functions with the most self time (BENCH_PROF=dir also writes
 * the profile, for Chrome DevTools).
 *
 *   npx tsx bench/file-source.ts [megabytes=300] [formats=plain,json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { verifyBatch } from '../src/core/codec/batch.js';
import { parseConfig } from '../src/core/config/load.js';
import type { SourceContext } from '../src/core/plugin/types.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import { MetricsRegistry } from '../src/core/telemetry/metrics.js';
import { builtinRegistry } from '../src/plugins/registry.js';
import { fileConfig } from '../src/plugins/sources/file/config.js';
import { Tailer } from '../src/plugins/sources/file/tailer.js';
import { formatGc, formatProfile, type GcFigures, withCpuProfile, withGcFigures } from './gc-meter.js';

const MEGABYTES = Number(process.argv[2] ?? 300);
const FORMATS = (process.argv[3] ?? 'plain,json').split(',');
const CHUNK = 4 * 1024 * 1024;

const LEVELS = ['info', 'info', 'info', 'debug', 'warn', 'error'];
const ROUTES = ['/api/cart', '/api/checkout', '/api/login', '/healthz', '/api/search'];

/** Writes ~`megabytes` of JSON lines of about 170 bytes; returns the line count. */
function writeLogFile(file: string, megabytes: number): number {
  const fd = fs.openSync(file, 'w');
  const target = megabytes * 1e6;
  let written = 0;
  let n = 0;
  const t0 = Date.UTC(2025, 0, 1);
  while (written < target) {
    const parts: string[] = [];
    for (let i = 0; i < 10_000; i++, n++) {
      const ts = new Date(t0 + n).toISOString();
      const route = ROUTES[n % ROUTES.length] as string;
      parts.push(
        `{"timestamp":"${ts}","level":"${LEVELS[n % LEVELS.length]}","service":"checkout","trace_id":"${n.toString(16).padStart(32, '0')}","message":"GET ${route}/${n % 1000} 200 ${n % 97}ms","user":"u${n % 5000}"}\n`,
      );
    }
    const chunk = parts.join('');
    fs.writeSync(fd, chunk);
    written += Buffer.byteLength(chunk);
  }
  fs.closeSync(fd);
  return n;
}

interface Result {
  lines: number;
  seconds: number;
  cpuSeconds: number;
  gc: GcFigures;
}

async function measure(run: () => Promise<number>): Promise<Result> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { result: lines, gc } = await withGcFigures(run);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { lines, seconds, cpuSeconds: (used.user + used.system) / 1e6, gc };
}

/** The baseline: read in big chunks, split on newlines, one object per line (optionally JSON.parse too). */
async function bareSplitter(file: string, parseJson: boolean): Promise<number> {
  const fd = await fs.promises.open(file, 'r');
  const buf = Buffer.allocUnsafe(CHUNK + 65_536);
  let carry = 0;
  let pos = 0;
  let lines = 0;
  let sink: unknown[] = [];
  for (;;) {
    const { bytesRead } = await fd.read(buf, carry, CHUNK, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    const end = carry + bytesRead;
    const now = Date.now() * 1000;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0 && nl < end; nl = buf.indexOf(10, start)) {
      const text = buf.toString('utf8', start, nl);
      sink.push({ time_us: now, message: text, fields: parseJson ? JSON.parse(text) : undefined, file });
      lines++;
      start = nl + 1;
      if (sink.length >= 8192) sink = [];
    }
    carry = end - start;
    buf.copy(buf, 0, start, end);
  }
  await fd.close();
  return lines;
}

/** The file source with an `emit` that drops each batch once its checkpoint is serialized. */
async function sourceAlone(file: string, format: string, expected: number): Promise<number> {
  let lines = 0;
  let done = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const metrics = new MetricsRegistry({ processMetrics: false });
  const ctx: SourceContext = {
    id: 'logs',
    kind: 'source',
    type: 'file',
    logger: pino({ level: 'warn' }),
    metrics: metrics.forComponent('logs', 'source', 'file'),
    dataDir: os.tmpdir(),
    state: { get: () => undefined, set: () => undefined, delete: () => undefined },
    signal: new AbortController().signal,
    provide: () => undefined,
    use: () => undefined,
    publish: () => undefined,
    lookup: () => undefined,
    checkpoint: undefined,
    isBlocked: () => false,
    deadLetter: () => undefined,
    async emitEncoded(batches, checkpoint) {
      JSON.stringify(checkpoint);
      for (const b of batches) lines += verifyBatch(b.data);
      if (lines >= expected) done();
      return 'accepted';
    },
    async emit(events, checkpoint) {
      JSON.stringify(checkpoint);
      lines += events.length;
      if (lines >= expected) done();
      return 'accepted';
    },
  };
  const tailer = new Tailer(fileConfig.parse({ include: [file], format }), ctx);
  tailer.start();
  await finished;
  await tailer.stop();
  return lines;
}

/** `transform`: through `canonicalize_labels`, so that the source's batches are decoded into events before the queue. */
async function pipeline(file: string, format: string, expected: number, dataDir: string, buffer: 'disk' | 'memory', transform = false): Promise<number> {
  const toml = `data_dir = ${JSON.stringify(dataDir)}
[api]
enabled = false
[sources.logs]
type = "file"
include = [${JSON.stringify(file)}]
format = "${format}"
${transform ? '[transforms.canon]\ntype = "canonicalize_labels"\ninputs = ["logs"]\n' : ''}[sinks.bh]
type = "blackhole"
inputs = ["${transform ? 'canon' : 'logs'}"]
print_interval_secs = 0
buffer = { type = "${buffer}" }
`;
  const config = await parseConfig(toml, { registry: builtinRegistry(), env: {} });
  const runtime = await Runtime.start(config, { logger: pino({ level: 'warn' }) });
  const delivered = () => runtime.metrics.componentStats().find((s) => s.id === 'bh' && s.kind === 'sink')?.sentEvents ?? 0;
  while (delivered() < expected) await new Promise((r) => setTimeout(r, 5));
  const lines = delivered();
  await runtime.stop();
  return lines;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-file-'));
try {
  const file = path.join(dir, 'app.log');
  const lines = writeLogFile(file, MEGABYTES);
  const bytes = fs.statSync(file).size;
  const mb = bytes / 1e6;
  console.log(
    `file: ${mb.toFixed(0)} MB, ${lines.toLocaleString()} lines of ~${Math.round(bytes / lines)} bytes; ${os.cpus().length} CPUs, Node ${process.version}`,
  );
  const rate = (r: Result) =>
    `${Math.round(r.lines / r.seconds)
      .toLocaleString()
      .padStart(10)} lines/s ${(mb / r.seconds).toFixed(1).padStart(6)} MB/s ${((r.cpuSeconds / r.lines) * 1e6).toFixed(2).padStart(5)} µs CPU/line`;
  const row = (label: string, r: Result, base?: Result) =>
    console.log(`${label} ${rate(r)}${base ? `  ratio ${(base.seconds / r.seconds).toFixed(2)}` : ''}\n${' '.repeat(52)}${formatGc(r.gc, r.lines)}`);
  for (const format of FORMATS) {
    // One unmeasured pass of each, so that every measured run has the file in the page cache and warm JIT.
    await bareSplitter(file, format === 'json');
    await sourceAlone(file, format, lines);
    const base = await measure(() => bareSplitter(file, format === 'json'));
    const alone = await measure(() => sourceAlone(file, format, lines));
    const run = await measure(() => pipeline(file, format, lines, path.join(dir, `data-${format}`), 'disk'));
    const memory = await measure(() => pipeline(file, format, lines, path.join(dir, `data-${format}-memory`), 'memory'));
    const transformed = await measure(() => pipeline(file, format, lines, path.join(dir, `data-${format}-transform`), 'disk', true));
    for (const r of [base, alone, run, memory, transformed]) if (r.lines !== lines) throw new Error(`line count mismatch: expected ${lines}, got ${r.lines}`);
    const label = (s: string) => `format=${format.padEnd(6)} ${s.padEnd(44)}`;
    row(label(`baseline: bare splitter${format === 'json' ? ' + JSON.parse' : ''}`), base);
    row(label('file source alone (emit discards)'), alone, base);
    row(label('file → queue → blackhole'), run, base);
    row(label('file → memory buffer → blackhole (no SQLite)'), memory, base);
    row(label('file → canonicalize_labels → queue → blackhole'), transformed, base);
    const { profile } = await withCpuProfile(() => sourceAlone(file, format, lines), process.env.BENCH_PROF, `file-source-${format}`);
    console.log(label('file source alone, CPU profile'), formatProfile(profile));
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
