/**
 * ClickHouse insert formats, per engine: what the sink pays to deliver the same queued batches.
 *
 * - http-*: the sink's `writeEncoded` (what the runtime calls) against a node:http server in another
 *   process that reads and discards each body: the agent's decode/encode + gzip + POST cost alone.
 *   `json` is the JSON path (decode the batch, JSONCompactEachRow, one body per table, gzip whole:
 *   insert_format = "json"), the baseline; `rowbinary` encodes RowBinary straight from the batch
 *   bytes and streams it in ~1 MiB chunks (insert_format = "auto"). `-gzip` / `-none`: compression.
 * - chdb-*: into the seed tables on the embedded engine, in the process (its CPU is counted too).
 *   `json` is the JSON path (the baseline); `rowbinary` spools the RowBinary chunks to a file and
 *   runs `INSERT … SELECT FROM file(<it>, 'RowBinary', …)` under the same token (insert-file.ts), the
 *   one way a binary format reaches chdb (its connection turns insert bodies into text).
 *
 * Each variant runs in its own child process (so peak RSS is its own), ROUNDS times interleaved;
 * reported: median rows/s, CPU seconds per million rows (user+sys of the agent process), peak RSS,
 * and the ratio to the baseline of the same engine.
 *
 *   [ROUNDS=3] [KIND=log|span|metric] npx tsx bench/clickhouse-formats.ts [rows per delivery=100000] [deliveries=3]
 */
import { execFileSync, fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Delivery, type EncodedBatch, type TelemetryEvent, encodeBatch } from '../src/index.js';
import { clickhouseConfig } from '../src/plugins/sinks/clickhouse/config.js';
import { createClickHouseSink } from '../src/plugins/sinks/clickhouse/sink.js';
import { SEED_COLUMNS } from '../src/plugins/sinks/clickhouse/testdata/fake-server.js';
import { Synthesizer } from '../src/plugins/sources/generator/synth.js';
import { standaloneContext } from '../src/testing/context.js';
import { median } from './process-figures.js';

const mode = process.argv[2] === 'child' || process.argv[2] === 'server' ? process.argv[2] : 'main';
/** A child is started as `child <variant> <rows> <deliveries>`. */
const args = mode === 'child' ? process.argv.slice(4) : process.argv.slice(2);
const perDelivery = Number(args[0] ?? 100_000);
const deliveries = Number(args[1] ?? 3);
const kind = (process.env.KIND ?? 'log') as 'log' | 'span' | 'metric';
const BATCH = 10_000;
const VARIANTS = ['http-json-gzip', 'http-rowbinary-gzip', 'http-json-none', 'http-rowbinary-none', 'chdb-json', 'chdb-rowbinary'] as const;
type Variant = (typeof VARIANTS)[number];
const BASELINE: Record<string, Variant> = { http: 'http-json-gzip', chdb: 'chdb-json' };

interface Result {
  variant: Variant;
  rowsPerSec: number;
  cpuPerMRows: number;
  peakRssMiB: number;
  /** RSS once the queued batches are built, before the first delivery. */
  startRssMiB: number;
}

/** Deliveries of queued batches as the runtime hands them to `writeEncoded`. */
function makeDeliveries(): EncodedBatch[][] {
  const synth = new Synthesizer({ rate: 0, kinds: [kind], batch_size: BATCH, service: 'generator', message_bytes: 100 } as never);
  const now = Date.now() * 1000;
  const out: EncodedBatch[][] = [];
  for (let d = 0; d <= deliveries; d++) {
    const batches: EncodedBatch[] = [];
    for (let b = 0; b < perDelivery; b += BATCH) {
      const events: TelemetryEvent[] = [];
      for (let i = 0; i < Math.min(BATCH, perDelivery - b); i++) events.push(synth.make(d * perDelivery + b + i, now));
      batches.push({ data: Buffer.from(encodeBatch(events)), events: events.length });
    }
    out.push(batches);
  }
  return out;
}

/** Answers DESCRIBE with the seed columns, reads and drops every other body. Runs in its own process. */
function discardServer(): void {
  const server = http.createServer((req, res) => {
    // An INSERT carries its statement in the url and rows in the body; a query carries itself in the body.
    const insert = new URL(req.url ?? '/', 'http://x').searchParams.has('query');
    const text: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      if (!insert) text.push(chunk);
    });
    req.on('end', () => {
      const describe = /^DESCRIBE TABLE \w+\.(\w+)/.exec(Buffer.concat(text).toString());
      if (!describe) return void res.writeHead(200).end();
      const cols = SEED_COLUMNS[describe[1] as string] ?? [];
      res.writeHead(200).end(cols.map(([name, type]) => `${JSON.stringify({ name, type })}\n`).join(''));
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
}

async function child(variant: Variant): Promise<Result> {
  const all = makeDeliveries();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-chfmt-'));
  let url: string;
  let stopServer = () => undefined as unknown;
  if (variant.startsWith('http')) {
    const server = fork(process.argv[1] as string, ['server'], { execArgv: process.execArgv, stdio: 'inherit' });
    const port = await new Promise<number>((resolve) => server.once('message', (m) => resolve(m as number)));
    url = `http://default:@127.0.0.1:${port}/default`;
    stopServer = () => server.kill();
  } else {
    url = `chdb://${path.join(dir, 'ch')}`;
  }
  const { ctx } = standaloneContext('sink', 'ch', 'clickhouse', dir);
  const config = clickhouseConfig.parse({
    url,
    migrate: variant.startsWith('chdb'),
    compression: variant.endsWith('none') ? 'none' : 'gzip',
    insert_format: variant.includes('json') ? 'json' : 'auto',
    tables: { metric: 'metrics_raw' },
  });
  const sink = createClickHouseSink(config, { ...ctx, logger: pino({ level: 'warn' }) });
  await sink.start?.();
  const deliver = (batches: EncodedBatch[], seq: number) => sink.writeEncoded?.(batches, { delivery: new Delivery('ch', 'bench', seq), attempt: 1 }).then(() => undefined);
  if (kind === 'metric' && variant.startsWith('chdb')) throw new Error('chdb variants need a metrics_raw table: use KIND=log or span');
  await deliver(all[0] as EncodedBatch[], 0); // warm-up, not timed
  const startRss = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let d = 1; d <= deliveries; d++) await deliver(all[d] as EncodedBatch[], d);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const rows = perDelivery * deliveries;
  await sink.stop?.();
  stopServer();
  return {
    variant,
    rowsPerSec: rows / seconds,
    cpuPerMRows: (cpu.user + cpu.system) / 1e6 / (rows / 1e6),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    startRssMiB: startRss / 2 ** 20,
  };
}

function runChild(variant: Variant): Result {
  const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1] as string, 'child', variant, String(perDelivery), String(deliveries)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Result;
}

async function main(): Promise<void> {
  if (mode === 'server') return discardServer();
  if (mode === 'child') {
    const result = await child(process.argv[3] as Variant);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
  const rounds = Number(process.env.ROUNDS ?? 3);
  const variants = VARIANTS.filter((v) => kind !== 'metric' || v.startsWith('http'));
  const results = new Map<Variant, Result[]>();
  console.log(`${kind} rows: ${deliveries} deliveries of ${perDelivery} rows (queued batches of ${BATCH}), ${rounds} rounds; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const res = runChild(v);
      results.set(v, [...(results.get(v) ?? []), res]);
      console.log(`  round ${r + 1} ${v}: ${Math.round(res.rowsPerSec)} rows/s, ${res.cpuPerMRows.toFixed(2)} CPU-s/M rows, peak RSS ${res.peakRssMiB.toFixed(0)} MiB`);
    }
  }
  console.log('\nmedian | rows/s | ratio | CPU-s per M rows | ratio | peak RSS MiB (after the warm-up delivery)');
  for (const v of variants) {
    const rs = results.get(v) ?? [];
    const base = results.get(BASELINE[v.split('-')[0] as string] as Variant) ?? [];
    const rate = median(rs.map((x) => x.rowsPerSec));
    const cpu = median(rs.map((x) => x.cpuPerMRows));
    console.log(
      `${v.padEnd(20)} | ${Math.round(rate).toString().padStart(7)} | ${(rate / median(base.map((x) => x.rowsPerSec))).toFixed(2)}x | ${cpu.toFixed(2).padStart(6)} | ${(cpu / median(base.map((x) => x.cpuPerMRows))).toFixed(2)}x | ${median(rs.map((x) => x.peakRssMiB)).toFixed(0)} (${median(rs.map((x) => x.startRssMiB)).toFixed(0)})`,
    );
  }
  console.log(`load after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

await main();
