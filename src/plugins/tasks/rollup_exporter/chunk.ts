/**
 * Exports one chunk of buckets: `COPY (SELECT …) TO STDOUT` from PostgreSQL, streamed through the
 * row rewriter (rows.ts), then one ClickHouse insert. No row is parsed into JavaScript values: the
 * bytes PostgreSQL prints go to ClickHouse with only the labels and the version changed, which is
 * what keeps the export as fast as the seed's `psql | clickhouse-client` pipe (bench/cagg-exporter.ts).
 */
import type pg from 'pg';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { to as copyTo } from 'pg-copy-streams';
import type { ChEndpoint, PgEndpoint } from './endpoints.js';
import { timestampLiteral } from './pg-source.js';
import { type LabelsCache, RowRewriter } from './rows.js';

/** A chunk is bounded (max_rows_per_cycle), but a slow ClickHouse throttles the COPY: allow it time. */
const CHUNK_TIMEOUT_MS = 600_000;

export const EXPORT_COLUMNS = ['bucket', 'metric_name', 'labels', 'avg_v', 'max_v', 'min_v', 'version'] as const;

/**
 * Whole seconds for `bucket` (ClickHouse `DateTime` reads Unix seconds), the rest as stored.
 * `date_part` rather than `extract`, which computes a numeric and costs a third more here.
 */
export function exportQuery(from: number, to: number): string {
  return `SELECT date_part('epoch', bucket)::int8, metric_name, labels, avg_v, max_v, min_v FROM metrics_1m WHERE bucket >= ${timestampLiteral(from)} AND bucket < ${timestampLiteral(to)}`;
}

const quote = (value: string) => `'${value.replace(/[\\']/g, '\\$&')}'`;

/**
 * The insert. Settings sit in the statement's own SETTINGS clause: on the embedded engine the
 * client's `clickhouse_settings` become SETs on the one session every component shares
 * (docs/storage.md). `precise_float_parsing` makes ClickHouse read PostgreSQL's shortest decimal
 * form back to the very same double (its default fast parser is off by one ulp for a share of
 * values: measured on chdb 26.7, a third of those below 1e-6 and about one in a thousand near 1); `input_format_null_as_default = 0` turns a NULL aggregate into an error rather than a 0;
 * `async_insert = 0` makes the acknowledgement mean the rows are written.
 */
export function insertStatement(database: string, token: string): string {
  const settings = [
    'insert_deduplicate = 1',
    `insert_deduplication_token = ${quote(token)}`,
    'async_insert = 0',
    'precise_float_parsing = 1',
    'input_format_null_as_default = 0',
  ].join(', ');
  return `INSERT INTO ${database}.metrics_1m (${EXPORT_COLUMNS.join(', ')}) SETTINGS ${settings} FORMAT TabSeparated`;
}

/** A chunk read from PostgreSQL and rewritten, ready for one insert. */
export interface ReadChunk {
  readonly rows: number;
  /** TabSeparated rows for ClickHouse. */
  readonly body: Buffer;
}

/**
 * Reads the rows of [from, to) with `version` into memory (bounded by max_rows_per_cycle, ~200
 * bytes a row). Reading ahead is what lets the exporter read the next chunk from PostgreSQL while
 * ClickHouse ingests this one, and the embedded engine needs the whole body in memory anyway.
 */
export async function readChunk(pg: PgEndpoint, range: { from: number; to: number }, version: number, labels: LabelsCache, signal: AbortSignal): Promise<ReadChunk> {
  const client: pg.PoolClient = await pg.pool.connect();
  let broken: Error | undefined;
  try {
    // SET LOCAL needs a transaction; it keeps the settings off the shared pool's sessions.
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL extra_float_digits = 1; SET LOCAL statement_timeout = ${CHUNK_TIMEOUT_MS}`);
    const copy = copyTo(`COPY (${exportQuery(range.from, range.to)}) TO STDOUT`);
    // pg applies the pool's client-side query_timeout to submittables too; a chunk gets longer.
    Object.assign(copy, { query_timeout: CHUNK_TIMEOUT_MS + 10_000 });
    // pg arms that timer for every query and clears it in `query.callback`, which pg-copy-streams'
    // COPY TO never calls: left armed, it fires after the COPY ended and emits an error on the
    // finished stream (and keeps the process alive until then). Calling it ourselves disarms it.
    const disarm = () => (copy as unknown as { callback?: () => void }).callback?.();
    const rewriter = new RowRewriter(version, labels);
    const parts: Buffer[] = [];
    const onAbort = () => copy.destroy(new Error('the export was stopped'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of client.query(copy) as AsyncIterable<Buffer>) parts.push(rewriter.push(chunk));
      rewriter.finish();
    } catch (err) {
      // The session may be mid-COPY: it must not go back to the pool.
      broken = err as Error;
      throw err;
    } finally {
      disarm();
      signal.removeEventListener('abort', onAbort);
    }
    await client.query('COMMIT');
    return { rows: rewriter.rows, body: Buffer.concat(parts) };
  } catch (err) {
    broken ??= err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

/** One insert of a read chunk; resolves once ClickHouse has acknowledged it. */
export async function insertChunk(ch: ChEndpoint, body: Buffer, token: string, signal: AbortSignal): Promise<void> {
  // One piece: the embedded engine concatenates a streamed body into a string piece by piece, which
  // for thousands of pieces took as long as the insert itself.
  const result = await ch.client.exec({ query: insertStatement(ch.database, token), values: Readable.from([body]), abort_signal: signal });
  // Empty, but it must be read to the end for the connection to be reused.
  result.stream.resume();
  await finished(result.stream);
}
