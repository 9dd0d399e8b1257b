/**
 * The embedded ClickHouse engine (chdb) behind `chdb://<dir>` urls. libchdb binds ONE data
 * directory per process (docs/storage.md#connection-strings): every component asking for the same
 * directory shares one `@clickhouse/client` over one chdb connection, closed with the last
 * release; asking for a second directory while one is open is TC_CHDB_PATH_CONFLICT.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { mkdir } from 'node:fs/promises';
import { StorageError, messageOf } from '../errors.js';
import { type StorageLogger, silentLogger } from '../logger.js';
import { SharedResources } from '../shared-resource.js';
import { clickHouseLoggerClass } from './client-logger.js';

type ChdbConnectionModule = typeof import('chdb/connection');
type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

const engines = new SharedResources<ClickHouseClient>();

async function loadChdb(): Promise<ChdbConnectionModule> {
  try {
    return await import('chdb/connection');
  } catch (err) {
    throw new StorageError('TC_CHDB_MISSING', `cannot load chdb: ${messageOf(err)}`, { cause: err });
  }
}

/** The directory the engine is bound to in this process, if any. */
export function activeChdbPath(): string | undefined {
  return engines.keys()[0];
}

/** Opens (or joins) the engine on `absolutePath`. Pair every call with `releaseChdb`. */
/** `logger` receives the client's own log lines; the first caller's logger is kept. */
export async function acquireChdb(absolutePath: string, logger: StorageLogger = silentLogger): Promise<ClickHouseClient> {
  const active = activeChdbPath();
  if (active !== undefined && active !== absolutePath) {
    throw new StorageError('TC_CHDB_PATH_CONFLICT', `chdb is already bound to ${active} in this process; cannot also open ${absolutePath}`);
  }
  return engines.acquire(absolutePath, async () => {
    const { createChdbConnection } = await loadChdb();
    // Private like data_dir: the engine holds every stored event (docs/operations.md#security-defaults).
    await mkdir(absolutePath, { recursive: true, mode: 0o700 });
    try {
      // chdb types its connection against @clickhouse/client-common 1.23.0, while @clickhouse/client
      // 1.23.1 bundles its own copy of those types; same shape at runtime, distinct declarations.
      const connection = createChdbConnection({ path: absolutePath }) as unknown as ClientConnection;
      return createClient({ connection, log: { LoggerClass: clickHouseLoggerClass(logger) } });
    } catch (err) {
      // Someone opened chdb directly (not through here) on another directory.
      if (/only one active data directory/i.test(messageOf(err))) {
        throw new StorageError('TC_CHDB_PATH_CONFLICT', `cannot open chdb on ${absolutePath}: ${messageOf(err)}`, { cause: err });
      }
      throw new StorageError('TC_CHDB_MISSING', `cannot open chdb on ${absolutePath}: ${messageOf(err)}`, { cause: err });
    }
  });
}

export async function releaseChdb(absolutePath: string): Promise<void> {
  await engines.release(absolutePath, (client) => client.close());
}
