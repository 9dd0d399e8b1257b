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
type ChdbSession = InstanceType<(typeof import('chdb'))['Session']>;
type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

/**
 * Server settings for the embedded engine. ClickHouse sizes its thread pools for a dedicated
 * server: the global pool keeps up to 1,000 idle threads, and removing outdated parts runs on up
 * to 128 threads at once. In the agent's process every pool thread that has worked for a query
 * also keeps three files of /proc/thread-self open (stat, schedstat, io, for its profile
 * counters), so each burst (one cleanup of a few hundred merged parts makes about 130 threads)
 * left its threads and their descriptors for the life of the process: the soak's fd count grew
 * by 1.6x with nothing of ours leaking. With these the idle threads, and with them the engine's
 * descriptors, stay bounded (docs/storage.md, "Embedded ClickHouse").
 */
export const CHDB_ENGINE_ARGS: readonly string[] = ['--max_thread_pool_free_size=16', '--max_parts_cleaning_thread_pool_size=4'];

interface Engine {
  client: ClickHouseClient;
  /**
   * The connection that brings the engine up with CHDB_ENGINE_ARGS: `createChdbConnection` takes
   * no engine arguments, and the connections opened after it on the same directory share its engine.
   */
  anchor: ChdbSession;
}

const engines = new SharedResources<Engine>();

async function loadChdb(): Promise<ChdbConnectionModule & { Session: (typeof import('chdb'))['Session'] }> {
  try {
    const [connection, root] = await Promise.all([import('chdb/connection'), import('chdb')]);
    return { ...connection, Session: root.Session };
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
  const engine = await engines.acquire(absolutePath, async () => {
    const { createChdbConnection, Session } = await loadChdb();
    // Private like data_dir: the engine holds every stored event (docs/operations.md#security-defaults).
    await mkdir(absolutePath, { recursive: true, mode: 0o700 });
    let anchor: ChdbSession | undefined;
    try {
      anchor = new Session(absolutePath, { connectionArgs: [...CHDB_ENGINE_ARGS] });
      // chdb types its connection against @clickhouse/client-common 1.23.0, while @clickhouse/client
      // 1.23.1 bundles its own copy of those types; same shape at runtime, distinct declarations.
      const connection = createChdbConnection({ path: absolutePath }) as unknown as ClientConnection;
      return { client: createClient({ connection, log: { LoggerClass: clickHouseLoggerClass(logger) } }), anchor };
    } catch (err) {
      anchor?.close();
      // Someone opened chdb directly (not through here) on another directory.
      if (/only one active data directory/i.test(messageOf(err))) {
        throw new StorageError('TC_CHDB_PATH_CONFLICT', `cannot open chdb on ${absolutePath}: ${messageOf(err)}`, { cause: err });
      }
      throw new StorageError('TC_CHDB_MISSING', `cannot open chdb on ${absolutePath}: ${messageOf(err)}`, { cause: err });
    }
  });
  return engine.client;
}

export async function releaseChdb(absolutePath: string): Promise<void> {
  await engines.release(absolutePath, async ({ client, anchor }) => {
    try {
      await client.close();
    } finally {
      anchor.close();
    }
  });
}
