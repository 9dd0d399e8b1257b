/**
 * ClickHouse connection strings (docs/storage.md#connection-strings):
 * `http(s)://user:pass@host:8123/database` for a server, `chdb://<dir>[?database=name]` for the
 * embedded engine (a relative dir is resolved against data_dir). Both give a `@clickhouse/client`,
 * so sinks run the same code on either.
 *
 * The client's own current database stays `default` on both: chdb ignores a client-level
 * database, and on a server a not-yet-created database would make every request fail, including
 * the migration that creates it. Qualify tables with `connection.database` instead.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import path from 'node:path';
import { StorageError, messageOf } from '../errors.js';
import { type StorageLogger, silentLogger } from '../logger.js';
import { isPlainIdentifier } from '../migrate/sql-fragment.js';
import { redactUrl } from '../redact.js';
import { acquireChdb, releaseChdb } from './chdb.js';
import { clickHouseLoggerClass } from './client-logger.js';

export type ClickHouseTarget =
  | { readonly kind: 'server'; readonly url: string; readonly database: string }
  | { readonly kind: 'embedded'; readonly path: string; readonly database: string };

export interface ClickHouseConnection {
  /** Shared for `chdb://`: never `close()` it, call `release()`. */
  readonly client: ClickHouseClient;
  /** The database to qualify table names with. */
  readonly database: string;
  readonly kind: ClickHouseTarget['kind'];
  /** The URL with its password masked, for logs and reports. */
  readonly displayUrl: string;
  /** Closes the client (for chdb: drops this user's hold on the shared engine). Idempotent. */
  release(): Promise<void>;
}

export interface ConnectClickHouseOptions {
  /** The agent's data_dir, against which a relative chdb:// directory is resolved. */
  readonly dataDir: string;
  readonly logger?: StorageLogger;
}

const CHDB_SCHEME = 'chdb://';

function checkDatabase(database: string, url: string): string {
  if (!isPlainIdentifier(database)) {
    throw new StorageError('TC_CH_URL_INVALID', `invalid database name ${JSON.stringify(database)} in ${redactUrl(url)}`);
  }
  return database;
}

/** Parses a ClickHouse url without any I/O (for `thermocline validate`). */
export function parseClickHouseUrl(url: string, dataDir: string): ClickHouseTarget {
  if (url.startsWith(CHDB_SCHEME)) {
    const [dir = '', query = ''] = url.slice(CHDB_SCHEME.length).split('?', 2);
    if (dir === '') throw new StorageError('TC_CH_URL_INVALID', `chdb url needs a directory: ${url}`);
    const database = new URLSearchParams(query).get('database') ?? 'default';
    return { kind: 'embedded', path: path.resolve(dataDir, dir), database: checkDatabase(database, url) };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StorageError('TC_CH_URL_INVALID', `not a ClickHouse url: ${redactUrl(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StorageError('TC_CH_URL_INVALID', `unsupported scheme ${parsed.protocol} in ${redactUrl(url)} (expected http://, https:// or chdb://)`);
  }
  const database = checkDatabase(decodeURIComponent(parsed.pathname.replace(/^\/+|\/+$/g, '')) || 'default', url);
  parsed.pathname = '/';
  return { kind: 'server', url: parsed.toString(), database };
}

/** Opens a client on `url` and checks it answers. */
export async function connectClickHouse(url: string, options: ConnectClickHouseOptions): Promise<ClickHouseConnection> {
  const target = parseClickHouseUrl(url, options.dataDir);
  const logger = options.logger ?? silentLogger;
  if (target.kind === 'embedded') {
    const client = await acquireChdb(target.path, logger);
    let released: Promise<void> | undefined;
    logger.debug({ path: target.path, database: target.database }, 'using embedded ClickHouse (chdb)');
    return {
      client,
      database: target.database,
      kind: 'embedded',
      displayUrl: url,
      release: () => (released ??= releaseChdb(target.path)),
    };
  }
  const displayUrl = redactUrl(url);
  const client = createClient({ url: target.url, log: { LoggerClass: clickHouseLoggerClass(logger) } });
  // A SELECT, not /ping: /ping answers without checking credentials.
  const ping = await client.ping({ select: true });
  if (!ping.success) {
    await client.close().catch(() => undefined);
    throw new StorageError('TC_CH_UNREACHABLE', `cannot reach ClickHouse at ${displayUrl}: ${messageOf(ping.error)}`, { cause: ping.error });
  }
  let released: Promise<void> | undefined;
  return { client, database: target.database, kind: 'server', displayUrl, release: () => (released ??= client.close()) };
}
