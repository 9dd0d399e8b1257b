/**
 * Test helpers of the clickhouse sink. The engine comes from src/testing/clickhouse.ts: chdb in a
 * temp dir by default, the server of CH_URL otherwise, so every test here runs unchanged against
 * both. Nothing here depends on which one it is, except how the sink's url is spelled.
 */
import fs from 'node:fs';
import type { Test } from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import { Delivery, type EncodedBatch, type LogEvent, type SinkInstance, type SpanEvent, type TelemetryEvent, type WriteMeta, encodeBatch } from '../../../../index.js';
import { activeChdbPath } from '../../../../storage/index.js';
import { standaloneContext, type TestClickHouse, withClickHouse, tempDir } from '../../../../testing/index.js';
import { clickhouseConfig } from '../config.js';
import { ClickHouseConnection } from '../api.js';
import type { ClickHouseHandle } from '../handle.js';
import { type SinkInternals, createClickHouseSink } from '../sink.js';

/** The sink url for a database of the test engine; undefined for a testcontainers engine (its url is not exposed). */
export function urlFor(ch: TestClickHouse, database = ch.database): string | undefined {
  if (ch.mode === 'embedded') return `chdb://${activeChdbPath() ?? ''}?database=${database}`;
  if (ch.mode === 'url' && process.env.CH_URL) {
    const url = new URL(process.env.CH_URL);
    url.pathname = `/${database}`;
    return url.toString();
  }
  return undefined;
}

export interface Target {
  readonly ch: TestClickHouse;
  readonly url: string;
}

/** A fresh database on the test engine, or a skipped test where the sink cannot be pointed at it. */
export async function target(t: Test): Promise<Target | undefined> {
  const ch = await withClickHouse(t);
  const url = urlFor(ch);
  if (url === undefined) {
    t.plan(0, 'the testcontainers engine does not expose its url; run with CH_URL');
    return undefined;
  }
  return { ch, url };
}

/** Log lines a sink wrote, as parsed JSON. */
export class Logs {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly logger = pino(
    { level: 'info' },
    new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const l of chunk.toString('utf8').split('\n')) if (l) this.lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    }),
  );
  text(): string {
    return this.lines.map((l) => `${String(l.msg)} ${JSON.stringify(l)}`).join('\n');
  }
}

export interface OpenSink {
  readonly sink: SinkInstance;
  readonly logs: Logs;
  readonly handle: ClickHouseHandle;
  /** The sink's data_dir. */
  readonly dataDir: string;
}

/** A sink instance outside a runtime on `url`, stopped at teardown. */
export function openSink(t: Test, url: string, options: Record<string, unknown> = {}, internals: SinkInternals = {}): OpenSink {
  const dataDir = tempDir(t, 'thermocline-ch-sink-');
  const { ctx } = standaloneContext('sink', 'ch', 'clickhouse', dataDir);
  const logs = new Logs();
  const config = clickhouseConfig.parse({ url, ...options });
  const sink = createClickHouseSink(config, { ...ctx, logger: logs.logger }, internals);
  t.teardown(() => sink.stop?.());
  return { sink, logs, handle: ctx.use(ClickHouseConnection, 'ch') as ClickHouseHandle, dataDir };
}

/** Queued batches as a sink's `writeEncoded` gets them, one per list of events. */
export function batches(...parts: TelemetryEvent[][]): EncodedBatch[] {
  return parts.map((events) => ({ data: Buffer.from(encodeBatch(events)), events: events.length }));
}

export function meta(seq: number, attempt = 1, instance = 'test'): WriteMeta {
  return { delivery: new Delivery('ch', instance, seq), attempt };
}

/** Rows of a query, with every value as the engine's JSON gives it (64-bit integers: use toString() in SQL). */
export async function select<T = Record<string, unknown>>(ch: TestClickHouse, query: string): Promise<T[]> {
  const result = await ch.client.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}

/** Creates one of the README's tables for `tables.metric` / `tables.event` (testdata/<name>.sql) in the test database. */
export async function createTable(ch: TestClickHouse, name: 'metrics_raw' | 'events_raw'): Promise<void> {
  const ddl = fs.readFileSync(new URL(`./${name}.sql`, import.meta.url), 'utf8');
  await ch.client.command({ query: ddl.replace(/--.*$/gm, '').replace(name, `${ch.database}.${name}`) });
}

export async function count(ch: TestClickHouse, table: string, where = '1'): Promise<number> {
  const [row] = await select<{ n: string }>(ch, `SELECT toString(count()) AS n FROM ${ch.database}.${table} WHERE ${where}`);
  return Number(row?.n);
}

/** A whole second, an hour ago: recent enough for the tables' TTL, exact in microseconds. */
export const BASE_US = (Math.floor(Date.now() / 1000) - 3600) * 1_000_000;

export function log(i: number, overrides: Partial<LogEvent> = {}): LogEvent {
  return {
    kind: 'log',
    time_us: BASE_US + i * 1000 + 7,
    service: 'checkout',
    host: 'web-1',
    level: 'info',
    trace_id: '',
    span_id: '',
    message: `request ${i}`,
    labels: { seq: String(i) },
    ...overrides,
  };
}

export function span(i: number, overrides: Partial<SpanEvent> = {}): SpanEvent {
  const hex = i.toString(16);
  return {
    kind: 'span',
    trace_id: hex.padStart(32, '0'),
    span_id: hex.padStart(16, '0'),
    parent_span_id: '',
    service: 'checkout',
    name: 'GET /cart',
    start_us: BASE_US + i * 1000 + 1,
    end_us: BASE_US + i * 1000 + 251,
    duration_ns: 250_000,
    status_code: 'OK',
    status_message: '',
    attr: { seq: String(i) },
    events: [],
    ...overrides,
  };
}
