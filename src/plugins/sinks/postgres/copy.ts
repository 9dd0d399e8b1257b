import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { classify, copyLineOf, describePgError, sqlStateOf } from './classify.js';
import type { TableRows } from './tables.js';

/** One COPY fed from `data`, which is pulled as the connection takes it (back-pressure). */
export async function copyStream(client: pg.PoolClient, sql: string, data: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
  await pipeline(Readable.from(data, { objectMode: false }), client.query(copyFrom(sql)));
}

/** Streams `rows` of `table` with one COPY; encoding of the next chunk overlaps the server's work. */
export async function copyRows(client: pg.PoolClient, table: TableRows, rows: readonly number[]): Promise<void> {
  if (rows.length === 0) return;
  await copyStream(client, table.copySql, table.encode(rows));
}

/** SQLSTATE 23503: a series id the cache holds is gone from metric_series. Not the row's fault. */
export const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Writes `rows` inside the caller's transaction, isolating rows the server rejects: each
 * attempt runs under a savepoint; a failed attempt is rolled back to it and split. When PostgreSQL
 * names the failing row ("COPY metrics_points, line 3") that row is tried alone first, so k bad rows
 * cost about k + 1 COPYs; otherwise the set is halved. A hint that proves wrong (the row alone
 * succeeds, e.g. an error raised at the end of the statement) stops hints for the rest.
 * Errors that are not about data (connection, 23503) propagate: the transaction is lost anyway.
 */
export async function copyIsolating(
  client: pg.PoolClient,
  table: TableRows,
  rows: readonly number[],
  reject: (row: number, reason: string) => void,
): Promise<void> {
  let remaining = rows;
  let trustHints = true;
  while (remaining.length > 0) {
    const failure = await tryCopy(client, table, remaining);
    if (failure === undefined) return;
    if (remaining.length === 1) {
      reject(remaining[0] as number, rejectionReason(table, failure));
      return;
    }
    const line = trustHints ? copyLineOf(failure) : undefined;
    if (line !== undefined && line >= 1 && line <= remaining.length) {
      const suspect = remaining[line - 1] as number;
      const alone = await tryCopy(client, table, [suspect]);
      if (alone === undefined) trustHints = false;
      else reject(suspect, rejectionReason(table, alone));
      remaining = remaining.filter((_, i) => i !== line - 1);
      continue;
    }
    const mid = remaining.length >> 1;
    await copyIsolating(client, table, remaining.slice(0, mid), reject);
    remaining = remaining.slice(mid);
  }
}

/** One COPY under a savepoint: undefined when it committed to the savepoint, else the data error. */
async function tryCopy(client: pg.PoolClient, table: TableRows, rows: readonly number[]): Promise<unknown> {
  await client.query('SAVEPOINT tc_copy');
  try {
    await copyRows(client, table, rows);
  } catch (err) {
    if (classify(err) !== 'data' || sqlStateOf(err) === FOREIGN_KEY_VIOLATION) throw err;
    // ROLLBACK TO keeps the savepoint: release it so that savepoints do not pile up.
    await client.query('ROLLBACK TO SAVEPOINT tc_copy; RELEASE SAVEPOINT tc_copy');
    return err;
  }
  await client.query('RELEASE SAVEPOINT tc_copy');
  return undefined;
}

function rejectionReason(table: TableRows, err: unknown): string {
  return `TC_PG_SINK_ROW_REJECTED: ${table.table}: ${describePgError(err)}`;
}
