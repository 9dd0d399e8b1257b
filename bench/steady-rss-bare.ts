/**
 * The baseline of bench/steady-rss.ts: the same work as the agent there, done minimally by a bare
 * Node process. It generates the generator source's log events at the same rate (its own
 * Synthesizer) and POSTs them once a second to the same discarding ClickHouse server as gzipped
 * RowBinary, with the agent's INSERT statement; it answers the same OTLP/HTTP metrics requests,
 * decodes them with the agent's decoder, and writes the points once a second to PostgreSQL with one
 * binary COPY, series ids resolved in the database (an upsert of the new ones) and held in a Map.
 * No queue, no retries, no ledger: what Node and the client libraries cost for this load.
 *
 * The parent bundles this file with esbuild and runs it on plain node, as the agent runs from
 * dist/: tsx's loader would add its own memory to one side only. It reads its plan from
 * BENCH_PLAN, prints `{"port": …}` (its OTLP listener) once ready, then once a second
 * `{"mem": process.memoryUsage(), "logs": …, "points": …}` (rows written so far).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { canonicalLabelsJson, type MetricPoint } from '../src/core/events.js';
import { CopyBuffer } from '../src/plugins/sinks/postgres/copy-buffer.js';
import { generatorConfig } from '../src/plugins/sources/generator/config.js';
import { Synthesizer } from '../src/plugins/sources/generator/synth.js';
import { otlpHttpConfig } from '../src/plugins/sources/otlp_http/config.js';
import { decodeMetricsProto } from '../src/plugins/sources/otlp_http/proto/metrics.js';
import { encodeRows, parseInsert, postInsert } from './clickhouse-wire.js';

/** What the parent tells the bare child. */
export interface BarePlan {
  /** The discarding ClickHouse server. */
  readonly chPort: number;
  /** One of the agent's INSERT statements into logs_events (its columns, format and SETTINGS). */
  readonly logQuery: string;
  readonly pgUrl: string;
  /** Log events a second. */
  readonly logRate: number;
  /** How often rows are written, as the sinks' `batch.timeout_secs`. */
  readonly flushMs: number;
}

const gzip = promisify(zlib.gzip);
const GZIP_LEVEL = 1; // as src/plugins/sinks/clickhouse/insert.ts
const LOG_COLUMNS = ['timestamp', 'service', 'host', 'level', 'trace_id', 'span_id', 'message', 'labels'];

const plan = JSON.parse(process.env.BENCH_PLAN ?? '{}') as BarePlan;
process.on('SIGTERM', () => process.exit(0));

// ---------------------------------------------------------------- logs → ClickHouse over HTTP

const insert = parseInsert(plan.logQuery);
if (!insert) throw new Error(`not an INSERT: ${plan.logQuery}`);
const perm = insert.columns.map((c) => LOG_COLUMNS.indexOf(c));
const synth = new Synthesizer(generatorConfig.parse({ kinds: ['log'], rate: plan.logRate }));
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let logRows: unknown[][] = [];
let logsWritten = 0;
let inserts = 0;
let seq = 0;
const started = Date.now();

/** The log events due by now, as rows in the agent's column order. */
function generate(): void {
  const due = Math.floor(((Date.now() - started) / 1000) * plan.logRate);
  const now = Date.now() * 1000;
  for (; seq < due; seq++) {
    const e = synth.make(seq, now);
    if (e.kind !== 'log') continue;
    const row = [Math.floor(e.time_us / 1000), e.service, e.host, e.level, e.trace_id, e.span_id, e.message, e.labels];
    logRows.push(perm.map((i) => row[i]));
  }
}

async function postLogs(rows: unknown[][]): Promise<void> {
  const body = await gzip(encodeRows(insert?.format ?? 'RowBinary', 'logs_events', insert?.columns ?? LOG_COLUMNS, rows), { level: GZIP_LEVEL });
  const query = plan.logQuery.replace(/insert_deduplication_token = '[^']*'/, `insert_deduplication_token = 'bare:${inserts++}'`);
  await postInsert(plan.chPort, httpAgent, query, body);
  logsWritten += rows.length;
}

// ---------------------------------------------------------------- OTLP metrics → PostgreSQL COPY

const resourceKeys = otlpHttpConfig.parse({}).metric_resource_labels;
const pool = new pg.Pool({ connectionString: plan.pgUrl, max: 1 });
pool.on('error', () => {});
const seriesIds = new Map<string, number>();
let points: MetricPoint[] = [];
let pointsWritten = 0;

/** Ids of the series of `batch` not seen before: one upsert for all of them. */
async function resolveSeries(client: pg.PoolClient, batch: readonly MetricPoint[]): Promise<void> {
  const fresh = new Map<string, [string, string]>();
  for (const p of batch) {
    const key = `${p.name}\u0000${canonicalLabelsJson(p.labels)}`;
    if (!seriesIds.has(key) && !fresh.has(key)) fresh.set(key, [p.name, canonicalLabelsJson(p.labels)]);
  }
  if (fresh.size === 0) return;
  const keys = [...fresh.keys()];
  const { rows } = await client.query<{ ord: string; series_id: string }>(
    `WITH input AS (SELECT e->>0 AS name, (e->>1)::jsonb AS labels, ord FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, ord)),
     upserted AS (INSERT INTO metric_series (metric_name, labels) SELECT name, labels FROM input ORDER BY ord
                  ON CONFLICT (metric_name, labels) DO UPDATE SET metric_name = EXCLUDED.metric_name RETURNING series_id, metric_name, labels)
     SELECT i.ord, u.series_id FROM upserted u JOIN input i ON i.name = u.metric_name AND i.labels = u.labels`,
    [JSON.stringify([...fresh.values()])],
  );
  for (const r of rows) seriesIds.set(keys[Number(r.ord) - 1] as string, Number(r.series_id));
}

async function copyPoints(batch: readonly MetricPoint[]): Promise<void> {
  const client = await pool.connect();
  try {
    await resolveSeries(client, batch);
    function* encode(): Generator<Buffer> {
      const out = new CopyBuffer();
      for (const p of batch) {
        out.tuple(3);
        out.timestamp(p.time_us);
        out.int64(seriesIds.get(`${p.name}\u0000${canonicalLabelsJson(p.labels)}`) as number);
        out.float8(p.value);
        if (out.hasChunks) yield* out.takeChunks();
      }
      yield* out.finish();
    }
    await pipeline(Readable.from(encode()), client.query(copyFrom('COPY metrics_points (time, series_id, value) FROM STDIN (FORMAT binary)')));
    pointsWritten += batch.length;
  } finally {
    client.release();
  }
}

const server = http.createServer({ keepAlive: true }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    for (const e of decodeMetricsProto(Buffer.concat(chunks), resourceKeys).events) if (e.kind === 'metric') points.push(e as MetricPoint);
    res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': '0' }).end();
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

// ---------------------------------------------------------------- the loop

/** Each side writes one batch at a time, like a sink; rows wait while a write is in flight. */
function flusher(take: () => Promise<void> | undefined): () => void {
  let busy = false;
  return () => {
    if (busy) return;
    const p = take();
    if (!p) return;
    busy = true;
    p.then(
      () => (busy = false),
      (err: unknown) => {
        process.stderr.write(`bare: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
}
const flushLogs = flusher(() => {
  if (logRows.length === 0) return undefined;
  const rows = logRows;
  logRows = [];
  return postLogs(rows);
});
const flushPoints = flusher(() => {
  if (points.length === 0) return undefined;
  const batch = points;
  points = [];
  return copyPoints(batch);
});
setInterval(generate, 5);
setInterval(() => {
  flushLogs();
  flushPoints();
}, plan.flushMs);
setInterval(() => process.stdout.write(`${JSON.stringify({ mem: process.memoryUsage(), logs: logsWritten, points: pointsWritten })}\n`), 1000);
process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
