/**
 * The sink's connection: opened on first use (by `start()`, a write, the health check or the
 * rollup exporter through the published handle, whichever comes first), migrated once when
 * `migrate = true`, and released by `stop()`. A failed open is forgotten, so the next use retries.
 */
import { ThermoclineError, errorMessage } from '../../../index.js';
import {
  activeChdbPath,
  type ClickHouseConnection,
  connectClickHouse,
  migrateClickHouse,
  MigrationFailedError,
  parseClickHouseUrl,
  STORAGE_ERRORS,
  type StorageLogger,
} from '../../../storage/index.js';
import { CLICKHOUSE_SINK_ERRORS } from './errors.js';

/**
 * chdb:// directories claimed by sinks of this process that are not stopped. libchdb binds one
 * directory per process: a second sink on another directory would only fail when it connects, in
 * the background; claiming at creation makes it a configuration error the agent refuses to start with.
 */
const chdbClaims = new Map<symbol, string>();

/** Throws TC_CHDB_PATH_CONFLICT when another directory is bound or claimed; returns the release. */
export function claimChdbDirectory(url: string, dataDir: string): () => void {
  const target = parseClickHouseUrl(url, dataDir);
  if (target.kind !== 'embedded') return () => undefined;
  const bound = activeChdbPath();
  const other = bound !== undefined && bound !== target.path ? bound : [...chdbClaims.values()].find((p) => p !== target.path);
  if (other !== undefined) {
    throw new ThermoclineError(
      STORAGE_ERRORS.TC_CHDB_PATH_CONFLICT,
      `${url} names the embedded ClickHouse directory ${target.path}, but this agent already uses ${other}: every chdb:// url of one agent must name the same directory`,
    );
  }
  const key = Symbol(target.path);
  chdbClaims.set(key, target.path);
  return () => void chdbClaims.delete(key);
}

/** Whether `url` names the embedded engine (chdb://), known without connecting. */
export function isEmbeddedUrl(url: string, dataDir: string): boolean {
  return parseClickHouseUrl(url, dataDir).kind === 'embedded';
}

export class SinkConnection {
  private opening: Promise<ClickHouseConnection> | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly options: { dataDir: string; logger: StorageLogger; migrate: boolean; cluster?: string | undefined },
  ) {}

  get(): Promise<ClickHouseConnection> {
    if (this.stopped) return Promise.reject(new Error('the clickhouse sink is stopped'));
    if (!this.opening) {
      const opening = this.open();
      this.opening = opening;
      opening.catch(() => {
        if (this.opening === opening) this.opening = undefined;
      });
    }
    return this.opening;
  }

  private async open(): Promise<ClickHouseConnection> {
    const connection = await connectClickHouse(this.url, { dataDir: this.options.dataDir, logger: this.options.logger });
    if (!this.options.migrate) return connection;
    try {
      await migrateClickHouse(connection.client, {
        database: connection.database,
        logger: this.options.logger,
        ...(this.options.cluster ? { cluster: this.options.cluster } : {}),
      });
      return connection;
    } catch (err) {
      await connection.release().catch(() => undefined);
      throw migrationError(err);
    }
  }

  /** Idempotent; later `get()` calls fail. */
  async release(): Promise<void> {
    this.stopped = true;
    const opening = this.opening;
    this.opening = undefined;
    if (!opening) return;
    const connection = await opening.catch(() => undefined);
    await connection?.release();
  }
}

/** A user who may insert but not run DDL gets a migration error that says what to change. */
function migrationError(err: unknown): unknown {
  const code = err instanceof MigrationFailedError ? err.failure.serverCode : undefined;
  if (code === '164' || code === '497') {
    return new ThermoclineError(
      CLICKHOUSE_SINK_ERRORS.TC_CH_NOT_WRITABLE,
      `migrate = true, but the ClickHouse user may not create tables (${errorMessage(err)}); set migrate = false if the schema is managed elsewhere, or run \`thermocline migrate\` as a user that may`,
      { cause: err },
    );
  }
  return err;
}
