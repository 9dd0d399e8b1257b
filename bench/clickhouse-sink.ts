/**
 * ClickHouse sink benchmark, on the embedded engine (chdb), in one process:
 *
 * 1. sink: rows/s into `logs_events` from the durable queue. The queue is filled first (the sink's
 *    url points nowhere, so nothing drains), then a runtime with the real sink drains it: SQLite
 *    read, decode, encode, INSERT with its token, ack. Timed from the runtime's start to the last ack.
 * 2. bare: the same rows, already built as arrays, through `@clickhouse/client`'s `insert()` in the
 *    same format (JSONCompactEachRow), in inserts of the same size, one after another: what an
 *    application writing to ClickHouse directly would do, without any queue.
 * 3. formats (FORMATS=1): encode + insert rates of JSONCompactEachRow, JSONEachRow and
 *    TabSeparated for the same rows through `client.exec`, to back the choice of format.
 *
 * Runs are interleaved ROUNDS times (default 3); each side reports its best and median rate.
 *
 *   [FORMATS=1] [ROUNDS=3] npx tsx bench/clickhouse-sink.ts [events=300000] [batch sizes=10000,50000,100000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import pino from 'pino';
import { parseConfig } from '../src/core/config/load.js';
import type { LogEvent } from '../src/core/events.js';
import { PluginRegistry } from '../src/core/plugin/registry.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import { logRow } from '../src/plugins/sinks/clickhouse/encode.js';
import clickhouse from '../src/plugins/sinks/clickhouse/index.js';
import { type TableSchema, timeEncoder } from '../src/plugins/sinks/clickhouse/schema.js';
import generator from '../src/plugins/sources/generator/index.js';
import { Synthesizer } from '../src/plugins/sources/generator/synth.js';
import { connectClickHouse, migrateClickHouse } from '../src/storage/index.js';

const total = Number(process.argv[2] ?? 300_000);
const batchSizes = (process.argv[3] ?? '10000,50000,100000').split(',').map(Number);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tc-bench-ch-'));
const chdbDir = path.join(dir, 'clickhouse');
const logger = pino({ level: 'warn' });

// The bench holds the engine open for the whole run: sinks share it (one chdb directory per process).
const engine = await connectClickHouse(`chdb://${chdbDir}`, { dataDir: dir });
const { client } = engine;
await migrateClickHouse(client, { database: 'default' });
const rowCount = async () =>
  Number((await (await client.query({ query: 'SELECT count() AS n FROM default.logs_events', format: 'JSONEachRow' })).json<{ n: number | string }>())[0]?.n);

function registry(): PluginRegistry {
  const r = new PluginRegistry();
  r.register(generator);
  r.register(clickhouse);
  return r;
}

function toml(dataDir: string, url: string, batch: number): string {
  return `data_dir = ${JSON.stringify(dataDir)}
[api]
enabled = false
[sources.gen]
type = "generator"
rate = 0
count = ${total}
batch_size = 10000
kinds = ["log"]
[sinks.ch]
type = "clickhouse"
inputs = ["gen"]
url = ${JSON.stringify(url)}
migrate = false
healthcheck = { enabled = false }
batch = { max_events = ${batch}, timeout_secs = 0.2 }
retry = { initial_backoff_secs = 60 }
`;
}

/** Generator → queue, with the sink unable to connect; then the real sink drains the queue. */
let runs = 0;
async function sinkRun(batch: number): Promise<number> {
  // A fresh data_dir each time: the generator's checkpoint would otherwise say it is done.
  const dataDir = path.join(dir, `run-${++runs}`);
  const fill = await Runtime.start(await parseConfig(toml(dataDir, 'http://127.0.0.1:9/', batch), { registry: registry(), env: {} }), {
    logger: pino({ level: 'silent' }),
  });
  while ((fill.queueOf('ch')?.events ?? 0) < total) await new Promise((r) => setTimeout(r, 20));
  await fill.stop();

  await client.command({ query: 'TRUNCATE TABLE default.logs_events' });
  const config = await parseConfig(toml(dataDir, `chdb://${chdbDir}`, batch), { registry: registry(), env: {} });
  const started = process.hrtime.bigint();
  const rt = await Runtime.start(config, { logger });
  const sent = () => rt.metrics.componentStats().find((s) => s.id === 'ch')?.sentEvents ?? 0;
  while (sent() < total) await new Promise((r) => setTimeout(r, 2));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await rt.stop();
  const rows = await rowCount();
  if (rows !== total) throw new Error(`sink run wrote ${rows} rows, expected ${total}`);
  return total / seconds;
}

/** The generator's rows, as the arrays `insert()` serialises (the sink's encoder writes the same JSON). */
function rowsOf(events: LogEvent[]): unknown[][] {
  return events.map((e) => [Math.floor(e.time_us / 1000), e.service, e.host, e.level, e.trace_id, e.span_id, e.message, e.labels]);
}

function events(): LogEvent[] {
  const synth = new Synthesizer({ rate: 0, kinds: ['log'], batch_size: 10_000, service: 'generator', message_bytes: 100 });
  const now = Date.now() * 1000;
  return Array.from({ length: total }, (_, i) => synth.make(i, now) as LogEvent);
}

const COLUMNS = ['timestamp', 'service', 'host', 'level', 'trace_id', 'span_id', 'message', 'labels'] as const;

async function bareRun(batch: number, rows: unknown[][]): Promise<number> {
  await client.command({ query: 'TRUNCATE TABLE default.logs_events' });
  const started = process.hrtime.bigint();
  for (let i = 0, n = 0; i < rows.length; i += batch, n++) {
    await client.insert({
      table: 'default.logs_events',
      columns: [...COLUMNS],
      values: rows.slice(i, i + batch),
      format: 'JSONCompactEachRow',
      clickhouse_settings: { insert_deduplication_token: `bare:${batch}:${n}` },
    });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // chdb keeps clickhouse_settings on its one session: clear the token for the inserts that follow.
  await client.command({ query: 'SELECT 1', clickhouse_settings: { insert_deduplication_token: '' } });
  const written = await rowCount();
  if (written !== total) throw new Error(`bare run wrote ${written} rows, expected ${total}`);
  return total / seconds;
}

/** Each format's best encoder for a log row; JSONCompactEachRow is the sink's own. */
const ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', "'": "\\'" };
const tsv = (x: string) => (/[\\\t\n]/.test(x) ? x.replace(/[\\\t\n]/g, (c) => ESC[c] as string) : x);
const quoted = (x: string) => `'${/[\\\t\n']/.test(x) ? x.replace(/[\\\t\n']/g, (c) => ESC[c] as string) : x}'`;
const tsvMap = (m: Record<string, string>) =>
  `{${Object.entries(m)
    .map(([k, v]) => `${quoted(k)}:${quoted(v)}`)
    .join(',')}}`;
const logSchema = { time: timeEncoder("DateTime64(3, 'UTC')") } as TableSchema;
const ENCODERS: Record<string, (e: LogEvent) => string> = {
  JSONCompactEachRow: (e) => logRow(e, logSchema),
  JSONEachRow: (e) =>
    `${JSON.stringify({ timestamp: Math.floor(e.time_us / 1000), service: e.service, host: e.host, level: e.level, trace_id: e.trace_id, span_id: e.span_id, message: e.message, labels: e.labels })}\n`,
  TabSeparated: (e) =>
    `${Math.floor(e.time_us / 1000)}\t${tsv(e.service)}\t${tsv(e.host)}\t${tsv(e.level)}\t${tsv(e.trace_id)}\t${tsv(e.span_id)}\t${tsv(e.message)}\t${tsvMap(e.labels)}\n`,
};

async function formatRun(format: string, evs: LogEvent[], batch: number): Promise<{ encode: number; insert: number; total: number; bytes: number }> {
  await client.command({ query: 'TRUNCATE TABLE default.logs_events' });
  const encode = ENCODERS[format] as (e: LogEvent) => string;
  let encodeNs = 0n;
  let insertNs = 0n;
  let bytes = 0;
  for (let i = 0; i < evs.length; i += batch) {
    const t0 = process.hrtime.bigint();
    const lines: string[] = [];
    for (let j = i; j < Math.min(i + batch, evs.length); j++) lines.push(encode(evs[j] as LogEvent));
    const body = lines.join('');
    const t1 = process.hrtime.bigint();
    const result = await client.exec({
      query: `INSERT INTO default.logs_events (${COLUMNS.join(', ')}) SETTINGS insert_deduplication_token = 'fmt:${format}:${i}' FORMAT ${format}`,
      values: Readable.from([body]),
    });
    result.stream.resume();
    await finished(result.stream);
    insertNs += process.hrtime.bigint() - t1;
    encodeNs += t1 - t0;
    bytes += body.length;
  }
  const rate = (ns: bigint) => evs.length / (Number(ns) / 1e9);
  return { encode: rate(encodeNs), insert: rate(insertNs), total: rate(encodeNs + insertNs), bytes: bytes / evs.length };
}

const k = (rate: number) => `${(rate / 1000).toFixed(0).padStart(5)}k rows/s`;
const rounds = Number(process.env.ROUNDS ?? 3);
/** The machine is shared and noisy: runs are interleaved and each side keeps its best and median. */
const summary = (rates: number[]) => {
  const sorted = [...rates].sort((a, b) => a - b);
  return { best: sorted[sorted.length - 1] as number, median: sorted[Math.floor(sorted.length / 2)] as number };
};
console.log(
  `events=${total} kinds=log message_bytes=100 engine=chdb (in-process) rounds=${rounds} load=${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join('/')}`,
);
const evs = events();
const bareRows = rowsOf(evs);
for (const batch of batchSizes) {
  const sinkRates: number[] = [];
  const bareRates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    sinkRates.push(await sinkRun(batch));
    bareRates.push(await bareRun(batch, bareRows));
  }
  const sink = summary(sinkRates);
  const bare = summary(bareRates);
  console.log(
    `batch ${String(batch).padStart(6)}: sink (queue → ClickHouse) best ${k(sink.best)} median ${k(sink.median)} | bare client.insert best ${k(bare.best)} median ${k(bare.median)} | ratio best ${(sink.best / bare.best).toFixed(2)}x median ${(sink.median / bare.median).toFixed(2)}x`,
  );
}
if (process.env.FORMATS === '1') {
  const batch = batchSizes[batchSizes.length - 1] as number;
  const results = new Map<string, Array<{ encode: number; insert: number; total: number; bytes: number }>>();
  for (let r = 0; r < rounds; r++) {
    for (const format of Object.keys(ENCODERS)) results.set(format, [...(results.get(format) ?? []), await formatRun(format, evs, batch)]);
  }
  for (const [format, rs] of results) {
    const encode = summary(rs.map((x) => x.encode));
    const insert = summary(rs.map((x) => x.insert));
    const both = summary(rs.map((x) => x.total));
    console.log(
      `format ${format.padEnd(18)} batch ${batch}: encode best ${k(encode.best)} median ${k(encode.median)} | insert best ${k(insert.best)} median ${k(insert.median)} | both best ${k(both.best)} median ${k(both.median)} | ${(rs[0]?.bytes ?? 0).toFixed(0)} B/row`,
    );
  }
}
await engine.release();
fs.rmSync(dir, { recursive: true, force: true });
