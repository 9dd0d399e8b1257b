/**
 * One INSERT request. Settings go in the statement's own SETTINGS clause rather than the client's
 * `clickhouse_settings`: on the embedded engine those become `SET`s on the one session every
 * component shares and stay set (docs/storage.md), so a token set here would silently drop the next
 * token-less insert of another component, and a stale token set elsewhere could drop ours. A
 * SETTINGS clause applies to its statement only, on chdb and on a server alike.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ClickHouseConfig } from './config.js';
import { INSERT_FORMAT } from './encode.js';

const gzip = promisify(zlib.gzip);
/** Level 1: measured on generator logs, 10.0x smaller in 207 ms per 19 MB against 10.5x in 519 ms at the default level 6 (under load). */
const GZIP_LEVEL = 1;

export interface InsertTarget {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly kind: 'server' | 'embedded';
}

export interface InsertOptions {
  readonly compression: ClickHouseConfig['compression'];
  readonly insertMode: ClickHouseConfig['insert_mode'];
  /** More statement settings (tests use `readonly = 1` to get a real READONLY from the engine). */
  readonly settings?: Readonly<Record<string, string | number>>;
}

/** A ClickHouse string literal. */
export function quote(value: string): string {
  return `'${value.replace(/[\\']/g, '\\$&')}'`;
}

/** `k = v, …` for a SETTINGS clause. */
export function settingsClause(settings: Readonly<Record<string, string | number>>): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k} = ${typeof v === 'number' ? v : quote(v)}`)
    .join(', ');
}

export function insertStatement(
  database: string,
  table: string,
  columns: readonly string[],
  token: string,
  options: InsertOptions,
  format: string = INSERT_FORMAT,
): string {
  const settings: Record<string, string | number> = {
    // Explicit, so that a profile with insert_deduplicate = 0 cannot switch exactly-once off.
    insert_deduplicate: 1,
    insert_deduplication_token: token,
  };
  if (options.insertMode === 'async') {
    Object.assign(settings, { async_insert: 1, wait_for_async_insert: 1, async_insert_deduplicate: 1 });
  }
  Object.assign(settings, options.settings);
  return `INSERT INTO ${database}.${table} (${columns.join(', ')}) SETTINGS ${settingsClause(settings)} FORMAT ${format}`;
}

/** Sends `body` (rows in INSERT_FORMAT) with `token`; resolves once ClickHouse has written it. */
export async function insertBody(
  target: InsertTarget,
  table: string,
  columns: readonly string[],
  body: string,
  token: string,
  options: InsertOptions,
): Promise<void> {
  const query = insertStatement(target.database, table, columns, token, options);
  const compress = target.kind === 'server' && options.compression === 'gzip';
  const payload = compress ? await gzip(Buffer.from(body), { level: GZIP_LEVEL }) : body;
  await send(target, query, Readable.from([payload]), compress);
}

/**
 * Sends a body made of `chunks` in `format` with `token`, without holding it whole: the chunks are
 * pulled as the request is written (one in flight), gzip-compressed on the way when configured.
 */
export async function insertChunks(
  target: InsertTarget,
  table: string,
  columns: readonly string[],
  chunks: Iterable<Buffer>,
  token: string,
  options: InsertOptions,
  format: string,
): Promise<void> {
  const query = insertStatement(target.database, table, columns, token, options, format);
  const compress = target.kind === 'server' && options.compression === 'gzip';
  const source = Readable.from(chunks, { highWaterMark: 1 });
  if (!compress) return send(target, query, source, false);
  const gz = zlib.createGzip({ level: GZIP_LEVEL });
  // pipeline() destroys both streams when either fails, so the request fails with the cause.
  pipeline(source, gz).catch(() => undefined);
  await send(target, query, gz, true);
}

async function send(target: InsertTarget, query: string, values: Readable, gzipped: boolean): Promise<void> {
  const result = await target.client.exec({
    query,
    values,
    // The client compresses only when the whole client is configured to; the shared client is not.
    ...(gzipped ? { http_headers: { 'Content-Encoding': 'gzip' } } : {}),
  });
  // The body is empty, but it must be read to the end for the socket to be reused.
  result.stream.resume();
  await finished(result.stream);
}
