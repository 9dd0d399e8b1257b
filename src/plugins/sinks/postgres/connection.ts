import type pg from 'pg';
import { ThermoclineError } from '../../../index.js';
import {
  connectPostgres,
  detectFlavour,
  migratePostgres,
  type MigrationParams,
  type PgFlavour,
  type PostgresConnection,
  type StorageLogger,
} from '../../../storage/index.js';
import { sqlStateOf } from './classify.js';
import type { PostgresSinkConfig } from './config.js';
import { PG_SINK_ERRORS } from './errors.js';

export interface Ready {
  readonly pool: pg.Pool;
  readonly flavour: PgFlavour;
  readonly displayUrl: string;
}

export interface ConnectionOptions {
  readonly config: PostgresSinkConfig;
  readonly params: Readonly<MigrationParams>;
  readonly dataDir: string;
  readonly logger: StorageLogger;
  /** `application_name`, so that the sink's sessions are recognisable in pg_stat_activity. */
  readonly applicationName: string;
}

/** Pool settings from the options: timeouts on both sides, so that no delivery hangs forever. */
export function poolSettings(o: ConnectionOptions): Omit<pg.PoolConfig, 'connectionString'> {
  const { config } = o;
  const statement = config.statement_timeout;
  return {
    max: config.pool_size,
    connectionTimeoutMillis: config.connect_timeout,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: o.applicationName,
    ...(statement > 0
      ? {
          statement_timeout: statement,
          // A server that stopped answering (network gone without a reset) never cancels anything.
          query_timeout: statement + 10_000,
          // A session left open mid-transaction by a hung agent must not hold locks for long.
          idle_in_transaction_session_timeout: Math.max(statement, 60_000),
        }
      : {}),
  };
}

/**
 * The sink's connection, opened on first use and shared by the sink's start, its writes, its
 * maintenance and the published handle (handle.ts): connect, then migrate (or, with
 * `migrate = false`, check that the migrations were applied). A failed attempt is forgotten, so
 * the next caller tries again; a successful one is kept until `close()` (node-postgres replaces
 * broken connections inside the pool by itself).
 */
export class SinkConnection {
  private opening: Promise<Ready> | undefined;
  private connection: PostgresConnection | undefined;
  private closed = false;

  constructor(private readonly o: ConnectionOptions) {}

  ready(): Promise<Ready> {
    if (this.closed) return Promise.reject(new ThermoclineError(PG_SINK_ERRORS.TC_PG_SINK_STOPPED, 'the postgres sink has stopped; its connection is closed'));
    this.opening ??= this.open().catch((err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  private async open(): Promise<Ready> {
    const { config, params, logger } = this.o;
    const conn = await connectPostgres(config.url, { dataDir: this.o.dataDir, logger, pool: poolSettings(this.o) });
    try {
      const result = await migratePostgres(conn.pool, { params, logger, dryRun: !config.migrate }).catch((err: unknown) => {
        if (sqlStateOf(err) !== '42501') throw err;
        const why = config.migrate
          ? 'migrate = true needs a role that may create the tables; or run `thermocline migrate` as their owner and set migrate = false'
          : 'checking the schema needs SELECT on schema_migrations and, on plain PostgreSQL, SELECT and DELETE on metrics_1m; the sink README lists every grant';
        throw new ThermoclineError(PG_SINK_ERRORS.TC_PG_SINK_PRIVILEGE, `${(err as Error).message} (${why})`, { cause: err });
      });
      if (!config.migrate) {
        const pending = result.steps.filter((s) => s.kind === 'migration');
        if (pending.length > 0) {
          throw new ThermoclineError(
            PG_SINK_ERRORS.TC_PG_SINK_NOT_MIGRATED,
            `${conn.displayUrl} is not migrated (migrate = false) and lacks ${pending.map((s) => s.name).join(', ')}: run \`thermocline migrate --pg <url>\``,
          );
        }
        // Policies rendered from other retention values: writing works, retention differs.
        const stale = result.steps.filter((s) => s.kind === 'repeatable');
        if (stale.length > 0)
          logger.warn(
            { steps: stale.map((s) => s.name) },
            `the database's retention policies differ from this sink's retention options (migrate = false leaves them as they are)`,
          );
      } else if (result.steps.length > 0) {
        logger.info({ flavour: result.flavour, steps: result.steps.length }, `migrated ${conn.displayUrl}`);
      }
      if (this.closed) throw new ThermoclineError(PG_SINK_ERRORS.TC_PG_SINK_STOPPED, 'the postgres sink stopped while connecting');
      this.connection = conn;
      return { pool: conn.pool, flavour: result.flavour ?? (await detectFlavour(conn.pool)), displayUrl: conn.displayUrl };
    } catch (err) {
      await conn.release().catch(() => undefined);
      throw err;
    }
  }

  /** Ends the pool (and the embedded server's hold). Idempotent; waits for a connect in progress. */
  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined);
    const conn = this.connection;
    this.connection = undefined;
    await conn?.release();
  }
}
