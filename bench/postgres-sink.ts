/**
 * The postgres sink's throughput: points/s from the queue into `metrics_points`, beside a
 * bare COPY of the same rows into the same schema, with and without the series foreign key.
 *
 *   sink        a real Runtime drains a queue pre-filled with N gauge points over 5,000 series
 *               (1,000-event batches, as a source emits them): reading the batch, series lookup (the series
 *               exist; the cache fills on the first delivery), binary encoding, COPY and the ledger
 *               row in one transaction per delivery (20,000 points, the sink's default batch).
 *   bare binary the same rows (series ids already known), pre-encoded in PostgreSQL's binary COPY
 *               format, streamed with pg-copy-streams in ONE COPY: what `psql \copy` of a file
 *               costs the server, with no agent in front. The ratio sink / bare binary is the goal
 *               (>= 0.9).
 *   write()     the plugin alone: called with each delivery's queued batches as the runtime hands
 *               them over (`writeEncoded`: the sink reads them itself, while its COPY streams).
 *   bare per delivery  the same binary data, one COPY per delivery-sized slice, each in its own
 *               transaction as the sink commits them: what the agent adds on top of the server's
 *               per-transaction costs (with the foreign key, each transaction locks the series
 *               rows it references again).
 *   bare text   the same, in COPY's text format (timestamps as ISO text): the format the sink
 *               does not use; shows the server-side difference between the two.
 *
 * After the rates, the server's CPU a point on each binary path, median of the rounds (user +
 * system of every `postgres` process on this machine, from /proc, over the timed part): the rows
 * are the same bytes on every path, so what the server spends beyond the bare COPY's is not the
 * agent's doing. Left out when a path saw no such process (a server elsewhere, PG_URL); backends
 * that exit inside the timed part are not counted.
 *
 * Each is run ROUNDS times alternately; the best round is reported (on a loaded 2-core machine
 * the best is the least disturbed), and the median of the ratios each round gives beside its own
 * baseline run. BENCH_ROUNDS sets the rounds (3), BENCH_FK=with / without runs one schema only. The server is the embedded PostgreSQL 18 with its default,
 * durable settings, or PG_URL (a user that may CREATE DATABASE).
 *
 *   npx tsx bench/postgres-sink.ts [points=400000] [points_per_delivery=20000]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import pino from 'pino';
import { DiskQueue } from '../src/core/buffer/queue.js';
import { QueueStore } from '../src/core/buffer/store.js';
import { Delivery } from '../src/core/delivery.js';
import { decodeBatch, encodeBatch } from '../src/core/codec/batch.js';
import type { MetricPoint } from '../src/core/events.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import type { ComponentContext, EncodedBatch, Json, WriteMeta } from '../src/core/plugin/types.js';
import { MetricsRegistry } from '../src/core/telemetry/metrics.js';
import { postgresSinkConfig } from '../src/plugins/sinks/postgres/config.js';
import { CopyBuffer } from '../src/plugins/sinks/postgres/copy-buffer.js';
import postgresSink from '../src/plugins/sinks/postgres/index.js';
import { migratePostgres } from '../src/storage/postgres/migrate.js';
import { acquireEmbeddedPostgres, releaseEmbeddedPostgres } from '../src/storage/postgres/embedded.js';
import { manualSource } from '../test/helpers/manual-source.js';
import { loadTestConfig } from '../test/helpers/pipeline.js';
import { cpuSeconds, median } from './process-figures.js';

const POINTS = Number(process.argv[2] ?? 400_000);
/** Points per delivery (`batch.max_events`); the sink's default unless given. */
const BATCH = Number(process.argv[3] ?? 20_000);
const SERIES = 5000;
const EMIT_BATCH = 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BASE_US = Math.floor(Date.now() / 3_600_000) * 3_600_000_000; // this hour: today's partition exists

const scratch = mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-pg-'));
let adminUrl = process.env.PG_URL;
if (!adminUrl) adminUrl = (await acquireEmbeddedPostgres(scratch)).url;

function databaseUrl(name: string): string {
  const u = new URL(adminUrl as string);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const points: MetricPoint[] = Array.from({ length: POINTS }, (_, i) => {
  const s = i % SERIES;
  return {
    kind: 'metric',
    type: 'gauge',
    name: 'bench_requests_in_flight',
    labels: { instance: `10.0.${s >> 8}.${s % 256}:9100`, job: 'node', series: String(s) },
    time_us: BASE_US + i,
    value: ((i * 7919) % 1000) / 7,
  };
});

async function prepare(fk: boolean): Promise<{ url: string; pool: pg.Pool; seriesIds: number[] }> {
  const name = `thermocline_bench_${fk ? 'fk' : 'nofk'}`;
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const url = databaseUrl(name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await migratePostgres(pool, { params: { series_foreign_key: fk } });
  await pool.query(
    `INSERT INTO metric_series (metric_name, labels)
     SELECT 'bench_requests_in_flight', jsonb_build_object('instance', '10.0.' || (g >> 8) || '.' || (g % 256) || ':9100', 'job', 'node', 'series', g::text)
       FROM generate_series(0, $1 - 1) g`,
    [SERIES],
  );
  const { rows } = await pool.query<{ series_id: string; s: string }>(`SELECT series_id, labels->>'series' AS s FROM metric_series`);
  const seriesIds: number[] = new Array(SERIES);
  for (const r of rows) seriesIds[Number(r.s)] = Number(r.series_id);
  return { url, pool, seriesIds };
}

function binaryCopyData(seriesIds: number[], from = 0, to = POINTS): Buffer[] {
  const out = new CopyBuffer();
  const chunks: Buffer[] = [];
  for (let i = from; i < to; i++) {
    const p = points[i] as MetricPoint;
    out.tuple(3);
    out.timestamp(p.time_us);
    out.int64(seriesIds[Number(p.labels.series)] as number);
    out.float8(p.value);
    if (out.hasChunks) chunks.push(...out.takeChunks());
  }
  chunks.push(...out.finish());
  return chunks;
}

function textCopyData(seriesIds: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  for (const p of points) {
    const ms = Math.floor(p.time_us / 1000);
    const iso = `${new Date(ms).toISOString().slice(0, 23)}${String(p.time_us - ms * 1000).padStart(3, '0')}+00`;
    lines.push(`${iso}\t${seriesIds[Number(p.labels.series)]}\t${p.value}\n`);
    if (lines.length === 5000) {
      chunks.push(Buffer.from(lines.join('')));
      lines = [];
    }
  }
  if (lines.length > 0) chunks.push(Buffer.from(lines.join('')));
  return chunks;
}

/** CPU seconds the PostgreSQL processes on this machine have used so far. */
function serverCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += cpuSeconds(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

/** The server's CPU a point over `timed`, per path, one entry a round. */
const serverUs: Record<string, number[]> = {};
async function serverTimed<T>(path: string, timed: () => Promise<T>): Promise<T> {
  const before = serverCpuSeconds();
  const result = await timed();
  (serverUs[path] ??= []).push(((serverCpuSeconds() - before) * 1e6) / POINTS);
  return result;
}

/** One COPY of the rows in one stream; `serverPath` names it in the server's CPU figures (unset: not counted). */
async function bareCopy(pool: pg.Pool, sql: string, chunks: Buffer[], serverPath?: string): Promise<number> {
  await pool.query('TRUNCATE metrics_points');
  const client = await pool.connect();
  try {
    const t0 = performance.now();
    const copy = () => pipeline(Readable.from(chunks), client.query(copyFrom(sql)));
    await (serverPath === undefined ? copy() : serverTimed(serverPath, copy));
    return POINTS / ((performance.now() - t0) / 1000);
  } finally {
    client.release();
  }
}

/** The same rows as one binary COPY per BATCH points, each in its own transaction, as the sink commits. */
async function bareCopyPerDelivery(pool: pg.Pool, seriesIds: number[]): Promise<number> {
  await pool.query('TRUNCATE metrics_points');
  const deliveries: Buffer[][] = [];
  for (let i = 0; i < POINTS; i += BATCH) deliveries.push(binaryCopyData(seriesIds, i, Math.min(POINTS, i + BATCH)));
  const client = await pool.connect();
  try {
    const t0 = performance.now();
    await serverTimed('perDelivery', async () => {
      for (const chunks of deliveries) {
        await client.query('BEGIN');
        await pipeline(Readable.from(chunks), client.query(copyFrom('COPY metrics_points (time, series_id, value) FROM STDIN (FORMAT binary)')));
        await client.query('COMMIT');
      }
    });
    return POINTS / ((performance.now() - t0) / 1000);
  } finally {
    client.release();
  }
}

/**
 * Fills a fresh queue (as sources would, 1,000 events a batch), then times a Runtime draining it.
 * The queue starts with one warm-up delivery (BATCH points over every series) that fills the
 * series cache; the clock starts once it is delivered, so start-up and the cold cache are left out.
 */
async function sinkFromQueue(url: string, pool: pg.Pool, fk: boolean): Promise<number> {
  await pool.query('TRUNCATE metrics_points');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-pg-queue-'));
  try {
    const store = QueueStore.open(dataDir, { synchronous: 'normal' });
    const queue = new DiskQueue(store, 'pg', { type: 'disk', max_bytes: 1 << 40, when_full: 'block' });
    const warmup = points.slice(0, BATCH).map((p) => ({ ...p, time_us: p.time_us - 3_600_000_000 }));
    store.transaction(() => {
      for (const [list, n] of [
        [warmup, BATCH],
        [points, POINTS],
      ] as const) {
        for (let i = 0; i < n; i += EMIT_BATCH) {
          const batch = list.slice(i, i + EMIT_BATCH);
          queue.append(Buffer.from(encodeBatch(batch)), batch.length, Date.now() * 1000);
        }
      }
    });
    store.close();
    const toml = `[sources.in]\ntype = "manual"\n[sinks.pg]\ntype = "postgres"\ninputs = ["in"]\nurl = ${JSON.stringify(url)}\nseries_foreign_key = ${fk}\nbatch = { max_events = ${BATCH} }\n`;
    const config = await loadTestConfig(toml, { dataDir, extra: [manualSource] });
    const runtime = await Runtime.start(config, { logger: pino({ level: 'warn' }) });
    try {
      const left = () => runtime.queueOf('pg')?.events ?? 0;
      while (left() > POINTS) await new Promise((r) => setTimeout(r, 1));
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      await serverTimed('sink', async () => {
        while (left() > 0) await new Promise((r) => setTimeout(r, 5));
      });
      const rate = POINTS / ((performance.now() - t0) / 1000);
      const cpu = process.cpuUsage(cpu0);
      agentCpuUsPerPoint = Math.min(agentCpuUsPerPoint, (cpu.user + cpu.system) / POINTS);
      const n = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM metrics_points')).rows[0]?.n);
      if (n !== POINTS + BATCH) throw new Error(`expected ${POINTS + BATCH} points, found ${n}`);
      const series = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM metric_series')).rows[0]?.n);
      if (series !== SERIES) throw new Error(`expected ${SERIES} series, found ${series}`);
      return rate;
    } finally {
      await runtime.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The plugin alone: called directly with each delivery's queued batches, as the runtime hands
 * them over (`writeEncoded`, or `write` with them decoded for a sink without it), warm cache. Against "bare COPY, per txn" this is what the plugin itself costs;
 * against "sink from the queue" what the runtime's queue (read, decode, acknowledge) adds.
 */
async function sinkWriteOnly(url: string, pool: pg.Pool, fk: boolean): Promise<number> {
  await pool.query('TRUNCATE metrics_points');
  const state = new Map<string, Json>();
  const ctx: ComponentContext = {
    id: 'pg',
    kind: 'sink',
    type: 'postgres',
    logger: pino({ level: 'warn' }),
    metrics: new MetricsRegistry({ processMetrics: false }).forComponent('pg', 'sink', 'postgres'),
    dataDir: scratch,
    state: { get: (k) => state.get(k), set: (k, v) => void state.set(k, v), delete: (k) => void state.delete(k) },
    signal: new AbortController().signal,
    provide: () => undefined,
    use: () => undefined,
    publish: () => undefined,
    lookup: () => undefined,
  };
  const sink = postgresSink.create(postgresSinkConfig.parse({ url, series_foreign_key: fk }), ctx);
  // As the runtime hands them over: the queued batches of each delivery (the sink takes them encoded).
  const queued = (list: readonly MetricPoint[]) => {
    const out: EncodedBatch[] = [];
    for (let i = 0; i < list.length; i += EMIT_BATCH) {
      const batch = list.slice(i, i + EMIT_BATCH);
      out.push({ data: Buffer.from(encodeBatch(batch)), events: batch.length });
    }
    return out;
  };
  const write = (batches: readonly EncodedBatch[], meta: WriteMeta) => (sink.writeEncoded ? sink.writeEncoded(batches, meta) : sink.write(batches.flatMap((b) => decodeBatch(b.data)), meta));
  const deliveries: EncodedBatch[][] = [];
  for (let i = 0; i < POINTS; i += BATCH) deliveries.push(queued(points.slice(i, i + BATCH)));
  let seq = Date.now() * 1000;
  const meta = () => ({ delivery: new Delivery('pg', 'bench', seq++), attempt: 1 });
  try {
    await sink.start?.();
    await write(queued(points.slice(0, BATCH).map((p) => ({ ...p, time_us: p.time_us - 3_600_000_000 }))), meta());
    const t0 = performance.now();
    await serverTimed('writeOnly', async () => {
      for (const batches of deliveries) await write(batches, meta());
    });
    return POINTS / ((performance.now() - t0) / 1000);
  } finally {
    await sink.stop?.();
  }
}

/** The agent's own CPU per point in the best sink round (user + system, this process). */
let agentCpuUsPerPoint = Infinity;
const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US').padStart(9)} points/s`;
const results: Record<string, { sink: number; writeOnly: number; binary: number; perDelivery: number; text: number }> = {};
try {
  // BENCH_FK=with or =without runs one of the two schemas.
  for (const fk of [true, false].filter((fk) => process.env.BENCH_FK !== (fk ? 'without' : 'with'))) {
    const label = fk ? 'with the series foreign key' : 'without the foreign key';
    const { url, pool, seriesIds } = await prepare(fk);
    const binary = binaryCopyData(seriesIds);
    const text = textCopyData(seriesIds);
    const best = { sink: 0, writeOnly: 0, binary: 0, perDelivery: 0, text: 0 };
    const paired = { sink: [] as number[], writeOnly: [] as number[] };
    for (const k of Object.keys(serverUs)) delete serverUs[k];
    agentCpuUsPerPoint = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      const bare = await bareCopy(pool, 'COPY metrics_points (time, series_id, value) FROM STDIN (FORMAT binary)', binary, 'bare');
      const sink = await sinkFromQueue(url, pool, fk);
      const perDelivery = await bareCopyPerDelivery(pool, seriesIds);
      const writeOnly = await sinkWriteOnly(url, pool, fk);
      best.binary = Math.max(best.binary, bare);
      best.sink = Math.max(best.sink, sink);
      best.perDelivery = Math.max(best.perDelivery, perDelivery);
      best.writeOnly = Math.max(best.writeOnly, writeOnly);
      // Each run beside its baseline of the same round: steadier than best / best when other work
      // shares the machine.
      paired.sink.push(sink / bare);
      paired.writeOnly.push(writeOnly / perDelivery);
      best.text = Math.max(best.text, await bareCopy(pool, 'COPY metrics_points (time, series_id, value) FROM STDIN', text));
    }
    results[label] = best;
    console.log(
      `${label} (${POINTS.toLocaleString('en-US')} points, ${SERIES.toLocaleString('en-US')} series, ${BATCH.toLocaleString('en-US')} points a delivery, best of ${ROUNDS}):`,
    );
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(`  sink from the queue        ${fmt(best.sink)}   agent CPU ${agentCpuUsPerPoint.toFixed(2)} µs/point`);
    console.log(`  sink write() alone         ${fmt(best.writeOnly)}`);
    console.log(`  bare COPY, one stream      ${fmt(best.binary)}   queue / bare = ${ratio(best.sink, best.binary)}   (the goal: >= 0.9)`);
    console.log(
      `  bare COPY, one per txn     ${fmt(best.perDelivery)}   queue / bare = ${ratio(best.sink, best.perDelivery)}   write() / bare = ${ratio(best.writeOnly, best.perDelivery)}`,
    );
    console.log(`  bare COPY, text format     ${fmt(best.text)}   binary / text = ${ratio(best.binary, best.text)}`);
    console.log(
      `  paired by round (median)   queue / bare one stream = ${median(paired.sink).toFixed(2)}   write() / bare per txn = ${median(paired.writeOnly).toFixed(2)}   (rounds: ${paired.sink.map((r) => r.toFixed(2)).join(' ')})`,
    );
    const servers = ['sink', 'writeOnly', 'bare', 'perDelivery'].map((k) => median(serverUs[k] ?? []));
    if (servers.every((us) => us > 0)) {
      const [sinkUs, writeUs, bareUs, perTxnUs] = servers.map((us) => us.toFixed(2));
      console.log(`  server CPU a point (median)  sink from the queue ${sinkUs} µs   write() ${writeUs} µs   bare one stream ${bareUs} µs   bare per txn ${perTxnUs} µs`);
    }
    await pool.end();
    await admin(`DROP DATABASE IF EXISTS thermocline_bench_${fk ? 'fk' : 'nofk'} WITH (FORCE)`);
  }
  const withFk = results['with the series foreign key'];
  const withoutFk = results['without the foreign key'];
  if (withFk && withoutFk) {
    console.log(
      `foreign key cost: bare COPY ${(withoutFk.binary / withFk.binary).toFixed(2)}x slower with it, sink ${(withoutFk.sink / withFk.sink).toFixed(2)}x slower with it`,
    );
  }
} finally {
  if (!process.env.PG_URL) await releaseEmbeddedPostgres(scratch);
  rmSync(scratch, { recursive: true, force: true });
}
