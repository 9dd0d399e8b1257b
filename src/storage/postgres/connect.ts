/**
 * PostgreSQL connection strings (docs/storage.md#connection-strings): `postgres://…` /
 * `postgresql://…` (libpq-style TLS options such as `?sslmode=verify-full&sslrootcert=…` are
 * understood by node-postgres), or `embedded` for the server the agent starts under
 * `<data_dir>/postgres`.
 */
import pg from 'pg';
import { StorageError, messageOf } from '../errors.js';
import { type StorageLogger, silentLogger } from '../logger.js';
import { redactUrl } from '../redact.js';
import { type EmbeddedPostgresOptions, acquireEmbeddedPostgres, releaseEmbeddedPostgres } from './embedded.js';

export interface PostgresConnection {
  readonly pool: pg.Pool;
  readonly kind: 'server' | 'embedded';
  /** The URL with its password masked, for logs and reports. */
  readonly displayUrl: string;
  /** Ends the pool and, for `embedded`, drops this user's hold on the shared server. Idempotent. */
  release(): Promise<void>;
}

export interface ConnectPostgresOptions {
  /** The agent's data_dir; `embedded` keeps its cluster in `<dataDir>/postgres`. */
  readonly dataDir: string;
  readonly logger?: StorageLogger;
  /** Pool settings other than the connection string (max, idleTimeoutMillis, …). */
  readonly pool?: Omit<pg.PoolConfig, 'connectionString'>;
  /** Only for `embedded`: extra server settings (tests pass fsync=off). */
  readonly embedded?: Pick<EmbeddedPostgresOptions, 'settings'>;
}

export function isEmbeddedPostgresUrl(url: string): boolean {
  return url.trim() === 'embedded';
}

/** Checks a url's form without any I/O (for `thermocline validate`). */
export function validatePostgresUrl(url: string): void {
  if (isEmbeddedPostgresUrl(url)) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StorageError('TC_PG_URL_INVALID', `not a PostgreSQL url: ${redactUrl(url)}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new StorageError('TC_PG_URL_INVALID', `unsupported scheme ${parsed.protocol} in ${redactUrl(url)} (expected postgres://, postgresql:// or "embedded")`);
  }
}

/** Opens a pool on `url` and checks it answers; `embedded` starts (or joins) the embedded server. */
export async function connectPostgres(url: string, options: ConnectPostgresOptions): Promise<PostgresConnection> {
  validatePostgresUrl(url);
  const logger = options.logger ?? silentLogger;
  if (!isEmbeddedPostgresUrl(url)) return openPool(url, redactUrl(url), 'server', logger, options, async () => undefined);
  const server = await acquireEmbeddedPostgres(options.dataDir, { logger, ...options.embedded });
  try {
    return await openPool(server.url, `embedded (${server.baseDir}, port ${server.port})`, 'embedded', logger, options, () =>
      releaseEmbeddedPostgres(options.dataDir),
    );
  } catch (err) {
    await releaseEmbeddedPostgres(options.dataDir);
    throw err;
  }
}

async function openPool(
  url: string,
  displayUrl: string,
  kind: PostgresConnection['kind'],
  logger: StorageLogger,
  options: ConnectPostgresOptions,
  onRelease: () => Promise<void>,
): Promise<PostgresConnection> {
  const pool = new pg.Pool({ ...options.pool, connectionString: url });
  // An idle client's error (server restart, network drop) is emitted on the pool; unhandled, it
  // would crash the process. The next query reports it to whoever runs it.
  pool.on('error', (err) => logger.warn({ url: displayUrl }, `idle PostgreSQL connection failed: ${err.message}`));
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new StorageError('TC_PG_UNREACHABLE', `cannot reach PostgreSQL at ${displayUrl}: ${messageOf(err)}`, { cause: err });
  }
  let released: Promise<void> | undefined;
  return {
    pool,
    kind,
    displayUrl,
    release: () => {
      released ??= pool.end().finally(onRelease);
      return released;
    },
  };
}
