/**
 * The harness of the end-to-end benches into the embedded engine (file-clickhouse.ts,
 * otlp-clickhouse.ts). chdb binds one data directory per process, so each side (the agent, a bare
 * script) runs in a child process of its own with its own engine directory; sides alternate for
 * ROUNDS rounds and the best and median of each figure are printed, with the agent's ratio to each
 * bare script.
 *
 * A child sets up, prints "ready [detail]", waits for "go" over the IPC channel (stdin must not be a
 * pipe: the engine takes a piped stdin as the data of an INSERT, and then refuses one that has its
 * own), runs, and prints "done <report>": wall time from "go" until every row is in ClickHouse;
 * "sustained", the rate up to the last full batch (without the final partial batch and the agent
 * sink's wait for a fuller one, `batch.timeout_secs`); CPU seconds of the whole process (every
 * thread: the engine's too); peak RSS (`process.resourceUsage().maxRSS`, setup included); the
 * garbage collector's pause (bench/gc-meter.ts); and what landed, counted after the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import pino from 'pino';
import { parseConfig } from '../src/core/config/load.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import { builtinRegistry } from '../src/plugins/registry.js';
import { connectClickHouse, migrateClickHouse } from '../src/storage/index.js';
import { type CpuProfileSummary, formatProfile, type GcFigures, withCpuProfile, withGcFigures } from './gc-meter.js';

/** The seed tables in the engine at `chdbDir`, before the clock starts. */
export async function migrate(dataDir: string, chdbDir: string): Promise<void> {
  const engine = await connectClickHouse(`chdb://${chdbDir}`, { dataDir });
  await migrateClickHouse(engine.client, { database: 'default' });
  await engine.release();
}

/** The one row of `query` (counts), its columns as numbers. */
export async function countOnce(dataDir: string, chdbDir: string, query: string): Promise<Record<string, number>> {
  const engine = await connectClickHouse(`chdb://${chdbDir}`, { dataDir });
  const result = await engine.client.query({ query, format: 'JSONEachRow' });
  const [row] = await result.json<Record<string, number | string>>();
  await engine.release();
  return Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, Number(v)]));
}

/** The agent of a child: the runtime of `toml` in this process (BENCH_LOG=info for its log). */
export async function startAgent(toml: string): Promise<Runtime> {
  return Runtime.start(await parseConfig(toml, { registry: builtinRegistry(), env: {} }), {
    logger: pino({ level: process.env.BENCH_LOG ?? 'warn' }, pino.destination(2)),
  });
}

/** Resolves once the agent's sink `sink` has acknowledged `items` events; marks each delivery. */
export async function delivered(runtime: Runtime, sink: string, items: number, mark: (items: number) => void): Promise<void> {
  const sent = () => runtime.metrics.componentStats().find((s) => s.id === sink && s.kind === 'sink')?.sentEvents ?? 0;
  let last = 0;
  while (last < items) {
    await new Promise((r) => setTimeout(r, 2));
    const now = sent();
    if (now !== last) mark((last = now));
  }
}

export interface ChildReport {
  wallMs: number;
  /** Items delivered up to the last full batch, and when (ms after "go"). */
  sustained: { items: number; ms: number };
  cpuSeconds: number;
  maxRssBytes: number;
  /** Largest V8 heap and largest memory outside it (Buffers, strings handed to native code) seen, sampled every 50 ms. */
  maxHeapBytes: number;
  maxExternalBytes: number;
  gc: GcFigures;
  /** Counts read back from the tables after the run (rows, distinct ids…), by name. */
  landed: Record<string, number>;
  profile?: CpuProfileSummary;
}

export interface ChildSide {
  /** Printed after "ready" (a port to send to). */
  detail?: string;
  /** The timed part; `mark(items)` after each delivered batch, with the items delivered so far. */
  run: (mark: (items: number) => void) => Promise<void>;
  /** What landed, read after the clock stopped. */
  count: () => Promise<Record<string, number>>;
}

/** A child's side: set up, say "ready", wait for "go", run (timed, CPU, GC), say "done <report>". */
export async function child(items: number, profileName: string, setUp: () => Promise<ChildSide>): Promise<void> {
  process.on('SIGINT', () => process.exit(0));
  const { detail, run, count } = await setUp();
  process.stdout.write(`ready${detail === undefined ? '' : ` ${detail}`}\n`);
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const cpu = process.cpuUsage();
  const started = performance.now();
  let sustained = { items: 0, ms: 0 };
  // A mark per completed batch; the last one is the final partial batch, so "sustained" keeps the one before.
  let previous = { items: 0, ms: 0 };
  const mark = (n: number) => {
    sustained = previous;
    previous = { items: n, ms: performance.now() - started };
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
    ? await withCpuProfile(timed, process.env.BENCH_PROF, profileName).then((r) => ((profile = r.profile), r.result))
    : await timed();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  if (previous.items < items || sustained.items === 0) sustained = previous;
  const landed = await count();
  const report: ChildReport = {
    wallMs,
    sustained,
    cpuSeconds: (used.user + used.system) / 1e6,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    maxHeapBytes,
    maxExternalBytes,
    gc,
    landed,
    profile,
  };
  process.stdout.write(`done ${JSON.stringify(report)}\n`, () => process.exit(0));
}

/**
 * Runs `script` as the child `role` (env BENCH_ROLE, BENCH_DIR: a fresh directory, removed after),
 * says "go" once it is ready and calls `offer` with its "ready" detail; resolves with its report.
 */
export async function runChild(
  script: string,
  scratch: string,
  role: string,
  env: Record<string, string>,
  offer?: (detail: string) => Promise<unknown>,
): Promise<ChildReport> {
  const dir = fs.mkdtempSync(path.join(scratch, `${role}-`));
  const p: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, ...process.argv.slice(2)], {
    env: { ...process.env, ...env, BENCH_ROLE: role, BENCH_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => p.once('exit', resolve));
  const lines = readline.createInterface({ input: p.stdout as NonNullable<ChildProcess['stdout']> });
  const next = (prefix: string) =>
    Promise.race([
      new Promise<string>((resolve) => lines.on('line', (l) => l.startsWith(prefix) && resolve(l))),
      exited.then((code) => Promise.reject(new Error(`${role} exited with ${code} before "${prefix}"`))),
    ]);
  try {
    const ready = await next('ready');
    const done = next('done ');
    p.send('go');
    await offer?.(ready.slice('ready '.length));
    const report = JSON.parse((await done).slice(5)) as ChildReport;
    await exited;
    return report;
  } finally {
    if (p.exitCode === null) p.kill('SIGINT');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Load averages over 1, 5 and 15 minutes: figures of a loaded machine are marked with them. */
export const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join('/');

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
const rate = (items: number) => (r: ChildReport) => items / (r.wallMs / 1000);
const sustainedRate = (r: ChildReport) => r.sustained.items / (r.sustained.ms / 1000);

/** One round's line for a side: `items` of `unit` (lines, spans) were delivered. */
export function show(side: string, r: ChildReport, items: number, unit: string): void {
  const landed = Object.entries(r.landed)
    .map(([k, v]) => `${k} ${v.toLocaleString('en')}`)
    .join(', ');
  console.log(
    `  ${side.padEnd(7)} ${(r.wallMs / 1000).toFixed(2).padStart(6)} s ${Math.round(rate(items)(r)).toLocaleString('en').padStart(9)} ${unit}/s, sustained ${Math.round(sustainedRate(r)).toLocaleString('en').padStart(9)} ${unit}/s | ${((r.cpuSeconds / items) * 1e6).toFixed(2).padStart(5)} CPU-s/M ${unit} | peak RSS ${mib(r.maxRssBytes).padStart(8)} (V8 heap ${mib(r.maxHeapBytes)}, external ${mib(r.maxExternalBytes)}) | GC ${((r.gc.pauseMs / r.wallMs) * 100).toFixed(1).padStart(4)} % of wall | ${landed}${r.profile ? `\n         profile: ${formatProfile(r.profile, 12)}` : ''}`,
  );
}

/** Best and median of each figure per side, and the agent's ratio (medians) to each bare side. */
export function summarize(reports: Readonly<Record<string, ChildReport[]>>, bares: readonly string[], items: number, unit: string): void {
  const pick = (rs: ChildReport[], f: (r: ChildReport) => number) => {
    const sorted = rs.map(f).sort((x, y) => x - y);
    return { best: sorted[sorted.length - 1] as number, median: sorted[Math.floor((sorted.length - 1) / 2)] as number };
  };
  const line = (what: string, f: (r: ChildReport) => number, fmt: (x: number) => string, higherIsBetter = true) => {
    const s = higherIsBetter ? 1 : -1;
    const of = (side: string) => {
      const p = pick(reports[side] ?? [], higherIsBetter ? f : (r) => -f(r));
      return { best: s * p.best, median: s * p.median };
    };
    const a = of('agent');
    const each = bares.map((side) => {
      const b = of(side);
      return `${side} ${fmt(b.best)} (median ${fmt(b.median)}), agent/${side} ${(a.median / b.median).toFixed(2)}×`;
    });
    console.log(`${what.padEnd(18)} agent ${fmt(a.best)} (median ${fmt(a.median)})  ${each.join('  ')} (medians)`);
  };
  const k = (x: number) => `${Math.round(x / 1000)}k ${unit}/s`;
  line('end to end', rate(items), k);
  line('sustained', sustainedRate, k);
  line(
    `CPU-s per M ${unit}`,
    (r) => (r.cpuSeconds / items) * 1e6,
    (x) => x.toFixed(2),
    false,
  );
  line('peak RSS', (r) => r.maxRssBytes, mib, false);
  const medianRss = (side: string) => -pick(reports[side] ?? [], (r) => -r.maxRssBytes).median;
  for (const side of bares) {
    const gap = medianRss('agent') - medianRss(side);
    console.log(`peak RSS, agent − ${side} (medians): ${gap >= 0 ? '+' : ''}${mib(gap)}`);
  }
}
