/**
 * The rollup exporter's backfill throughput: rows/s from PostgreSQL `metrics_1m` into
 * ClickHouse `metrics_1m`, beside the seed's approach on the same rows.
 *
 *   exporter  RollupExporter.runCycle() with an empty watermark: the whole history in chunks of
 *             max_rows_per_cycle (default 100,000), each a COPY from PostgreSQL rewritten to
 *             canonical labels plus a version, and one insert; the next chunk is read while the
 *             previous one is inserted. The watermark is committed after each chunk.
 *   seed      the seed's bash script: `psql -c "COPY (SELECT …) TO STDOUT WITH CSV"` piped into a
 *             ClickHouse `INSERT … FORMAT CSV` through the same client and engine, one statement for
 *             the whole range. Run twice: streamed (psql's stdout as the request body, as the pipe
 *             does) and collected (psql's output gathered first and sent in one piece, which suits
 *             the embedded engine better); the better of the two is the baseline.
 *
 * After each run both copies are compared with PostgreSQL (compare.ts, values as bit patterns):
 * the seed's copy differs (jsonb key order in labels, and ClickHouse's default float parser is off
 * by one ulp for a share of the values: about a third below 1e-6); the exporter's must not.
 *
 * Rows: N rows over 1,000 series (N / 1,000 one-minute buckets, ending an hour ago), labels of
 * mixed key lengths (so PostgreSQL's jsonb order is not the canonical one), random doubles (a fifth
 * of the series below 1e-6, like durations in seconds).
 * The engines: embedded PostgreSQL 18 (or PG_URL) and embedded ClickHouse (chdb).
 *
 *   npx tsx bench/cagg-exporter.ts [rows=1000000] [max_rows_per_cycle=100000] [rounds=2]
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import pino from 'pino';
import type { Json } from '../src/core/plugin/types.js';
import { connectClickHouse, migrateClickHouse, migratePostgres } from '../src/storage/index.js';
import { acquireEmbeddedPostgres, releaseEmbeddedPostgres } from '../src/storage/postgres/embedded.js';
import { type ChEndpoint, type PgEndpoint, resolveEndpoints } from '../src/plugins/tasks/rollup_exporter/endpoints.js';
import { RollupExporter } from '../src/plugins/tasks/rollup_exporter/exporter.js';
import { diffRollups, readClickHouseRollups, readPostgresRollups } from '../src/plugins/tasks/rollup_exporter/compare.js';
import { canonicalLabelsFromJsonb } from '../src/plugins/tasks/rollup_exporter/rows.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const MAX_ROWS = Number(process.argv[3] ?? 100_000);
const ROUNDS = Number(process.argv[4] ?? 2);
const SERIES = 1000;
const BUCKETS = Math.ceil(ROWS / SERIES);
const PSQL = process.env.PSQL ?? '/usr/bin/psql';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-cagg-'));
chmodSync(scratch, 0o777);
const logger = pino({ level: process.env.BENCH_LOG ?? 'warn' });

let pgUrl = process.env.PG_URL;
if (!pgUrl) pgUrl = (await acquireEmbeddedPostgres(scratch, { settings: { fsync: 'off', synchronous_commit: 'off' } })).url;
const database = `tc_bench_cagg_${process.pid}`;
{
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
}
const dbUrl = new URL(pgUrl);
dbUrl.pathname = `/${database}`;
const pool = new pg.Pool({ connectionString: dbUrl.toString(), max: 4 });
await migratePostgres(pool, { flavour: 'plain' });

// Buckets end an hour ago: closed, and inside both retentions (PostgreSQL 90 days, ClickHouse 365).
const lastBucket = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
const firstBucket = lastBucket - (BUCKETS - 1) * 60_000;
console.log(`filling metrics_1m with ${BUCKETS * SERIES} rows (${SERIES} series x ${BUCKETS} buckets)…`);
await pool.query(
  `INSERT INTO metrics_1m (bucket, metric_name, labels, avg_v, max_v, min_v)
   SELECT $1::timestamptz + b * interval '1 minute',
          CASE WHEN s % 3 = 0 THEN 'node_cpu_seconds_total' WHEN s % 3 = 1 THEN 'http_request_duration_seconds' ELSE 'process_resident_memory_bytes' END,
          jsonb_build_object('job', 'node', 'instance', '10.0.' || (s % 50) || '.' || (s / 50) || ':9100', 'cpu', (s % 8)::text,
                             'mode', (ARRAY['idle', 'user', 'system', 'iowait'])[1 + s % 4], 'environment', 'production'),
          v, v * (1 + random()), v * random()
     FROM generate_series(0, $2::int - 1) b, generate_series(0, $3::int - 1) s,
          -- a fifth of the series hold small values (durations in seconds, rates): where float parsing goes wrong
          LATERAL (SELECT CASE WHEN s % 5 = 4 THEN random() * 1e-6 ELSE random() * 1000 + b END AS v) r`,
  [new Date(firstBucket), BUCKETS, SERIES],
);
await pool.query('VACUUM ANALYZE metrics_1m');
const total = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM metrics_1m')).rows[0]?.n);

const chdbDir = path.join(scratch, 'chdb');
const ch = await connectClickHouse(`chdb://${chdbDir}`, { dataDir: scratch });
for (const db of ['ours', 'seed']) {
  await ch.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await migrateClickHouse(ch.client, { database: db });
}
const pgEndpoint: PgEndpoint = { pool, flavour: 'plain', params: { pg_cagg_start_offset_minutes: 120, pg_cagg_end_offset_minutes: 1 }, display: 'bench' };
const chEndpoint = (db: string): ChEndpoint => ({ client: ch.client, database: db, engine: ch.kind, display: db });
const truncate = (db: string) => ch.client.command({ query: `TRUNCATE TABLE ${db}.metrics_1m` });
const range = { from: firstBucket, to: lastBucket + 60_000 };

/** The seed: psql's COPY … TO STDOUT (CSV) into INSERT … FORMAT CSV. */
async function seed(mode: 'streamed' | 'collected'): Promise<number> {
  await truncate('seed');
  const started = performance.now();
  const sql = `COPY (SELECT bucket AT TIME ZONE 'UTC', metric_name, labels, avg_v, max_v, min_v FROM metrics_1m
                     WHERE bucket >= '${new Date(range.from).toISOString()}' AND bucket < '${new Date(range.to).toISOString()}') TO STDOUT WITH CSV`;
  const psql = spawn(PSQL, [dbUrl.toString(), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number>((resolve) => psql.on('close', (code) => resolve(code ?? -1)));
  let values: Readable = psql.stdout;
  if (mode === 'collected') {
    const parts: Buffer[] = [];
    for await (const part of psql.stdout) parts.push(part as Buffer);
    values = Readable.from([Buffer.concat(parts)]);
  }
  const result = await ch.client.exec({ query: 'INSERT INTO seed.metrics_1m (bucket, metric_name, labels, avg_v, max_v, min_v) FORMAT CSV', values });
  result.stream.resume();
  await finished(result.stream);
  if ((await exited) !== 0) throw new Error('psql failed');
  return performance.now() - started;
}

/** The exporter's first cycle over the same rows. */
async function exporter(): Promise<number> {
  await truncate('ours');
  const state = new Map<string, Json>();
  const endpoints = resolveEndpoints({ postgres: dbUrl.toString(), clickhouse: `chdb://${chdbDir}?database=ours`, dataDir: scratch, logger, use: () => undefined, applicationName: 'bench' });
  const run = new RollupExporter({
    id: 'bench',
    latenessMs: 300_000,
    maxRowsPerCycle: MAX_ROWS,
    endpoints,
    state: { get: (k) => state.get(k), set: (k, v) => void state.set(k, v), delete: (k) => void state.delete(k) },
    logger,
  });
  const started = performance.now();
  const report = await run.runCycle(new AbortController().signal);
  const elapsed = performance.now() - started;
  await endpoints.release();
  if (report.rows !== total) throw new Error(`exported ${report.rows} rows, expected ${total}`);
  return elapsed;
}

const rate = (ms: number) => Math.round((total * 1000) / ms);
const results: Record<string, number[]> = { exporter: [], 'seed (streamed)': [], 'seed (collected)': [] };
for (let round = 1; round <= ROUNDS; round++) {
  results['seed (streamed)']?.push(await seed('streamed'));
  results['seed (collected)']?.push(await seed('collected'));
  results.exporter?.push(await exporter());
  console.log(`round ${round}: ${Object.entries(results).map(([k, v]) => `${k} ${((v.at(-1) ?? 0) / 1000).toFixed(1)} s`).join(', ')}`);
}

const best = (name: string) => Math.min(...(results[name] ?? [Infinity]));
console.log(`\n${total} rollup rows, max_rows_per_cycle = ${MAX_ROWS}, best of ${ROUNDS} (measured on a loaded 2-core machine: noisy)`);
for (const name of Object.keys(results)) console.log(`  ${name.padEnd(18)} ${rate(best(name)).toLocaleString('en-US').padStart(9)} rows/s  (${(best(name) / 1000).toFixed(1)} s)`);
const baseline = Math.min(best('seed (streamed)'), best('seed (collected)'));
console.log(`  ratio exporter / seed: ${(baseline / best('exporter')).toFixed(2)}x (goal >= 1x)`);

const pgRows = await readPostgresRollups(pgEndpoint, range.from, range.to);
const ours = diffRollups(pgRows, await readClickHouseRollups(chEndpoint('ours'), range.from, range.to), 1);
const seedRows = await readClickHouseRollups(chEndpoint('seed'), range.from, range.to);
const theirs = diffRollups(pgRows, seedRows, 1);
// The seed's labels are PostgreSQL's jsonb text; with them made canonical what still differs are the values.
const theirValues = diffRollups(pgRows, seedRows.map((r) => ({ ...r, labels: canonicalLabelsFromJsonb(r.labels) })), 1);
console.log(`\ncorrectness (PostgreSQL vs ClickHouse FINAL, ${pgRows.length} rows):`);
console.log(`  exporter: ${ours.differences} rows differ`);
console.log(`  seed:     ${theirs.clickhouseRows - (pgRows.length - theirs.differences / 2)} of ${theirs.clickhouseRows} rows have labels that are not the canonical JSON; with them made canonical, ${theirValues.differences} rows still differ in avg/max/min bits`);
if (theirValues.examples[0]) {
  const e = theirValues.examples[0];
  console.log(`            e.g. avg/max/min bits in PostgreSQL ${e.postgres?.avg}/${e.postgres?.max}/${e.postgres?.min}, seed copy ${e.clickhouse?.avg}/${e.clickhouse?.max}/${e.clickhouse?.min}`);
}

await pool.end();
await ch.release();
if (!process.env.PG_URL) await releaseEmbeddedPostgres(scratch);
else {
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}
rmSync(scratch, { recursive: true, force: true });
if (ours.differences !== 0) process.exitCode = 1;
