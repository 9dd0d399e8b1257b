/**
 * Where the exporter reads and writes: `postgres` and `clickhouse` each name a sink of
 * the same config, whose connection it uses (`PostgresConnection`, `ClickHouseConnection`), or are URLs the exporter connects
 * to itself. Connections are looked up on every use rather than kept, so that after a reload that
 * replaced the sink the exporter uses the new one.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type pg from 'pg';
import { ClickHouseConnection, PostgresConnection, type ResourceKey, ThermoclineError } from '../../../index.js';
import {
  type ClickHouseConnection as OwnClickHouse,
  connectClickHouse,
  connectPostgres,
  DEFAULT_MIGRATION_PARAMS,
  detectFlavour,
  type MigrationParams,
  type PgFlavour,
  type PostgresConnection as OwnPostgres,
  type StorageLogger,
} from '../../../storage/index.js';
import { isConnectionUrl } from './config.js';
import { CAGG_ERRORS } from './errors.js';

export type RefreshParams = Pick<MigrationParams, 'pg_cagg_start_offset_minutes' | 'pg_cagg_end_offset_minutes'>;

export interface PgEndpoint {
  readonly pool: pg.Pool;
  readonly flavour: PgFlavour;
  /** The refresh window of `metrics_1m`: the named sink's, or the defaults for a URL. */
  readonly params: Readonly<RefreshParams>;
  /** For logs: the sink id or the redacted URL. */
  readonly display: string;
}

export interface ChEndpoint {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly engine: 'server' | 'embedded';
  readonly display: string;
}

export interface Endpoints {
  postgres(): Promise<PgEndpoint>;
  clickhouse(): Promise<ChEndpoint>;
  /** Closes what the exporter opened itself (never a sink's connection). Idempotent. */
  release(): Promise<void>;
}

export interface EndpointOptions {
  readonly postgres: string;
  readonly clickhouse: string;
  readonly dataDir: string;
  readonly logger: StorageLogger;
  /** `ctx.use`: the named sinks' connections (none outside the agent). */
  readonly use: <T>(key: ResourceKey<T>, from: string) => T | undefined;
  /** `application_name` of the exporter's own PostgreSQL sessions. */
  readonly applicationName: string;
}

/** Generous: a chunk's COPY is bounded by max_rows_per_cycle; a dead server must still not hang a cycle. */
const STATEMENT_TIMEOUT_MS = 300_000;

/** A memoised connect that forgets a failed attempt, so the next cycle tries again. */
function lazily<T>(open: () => Promise<T>): { get(): Promise<T>; peek(): Promise<T> | undefined; reset(): void } {
  let pending: Promise<T> | undefined;
  return {
    get() {
      if (!pending) {
        const attempt = open();
        pending = attempt;
        attempt.catch(() => {
          if (pending === attempt) pending = undefined;
        });
      }
      return pending;
    },
    peek: () => pending,
    reset: () => void (pending = undefined),
  };
}

function wrongSink(option: string, id: string, key: ResourceKey<unknown>): ThermoclineError {
  return new ThermoclineError(
    CAGG_ERRORS.TC_CAGG_WRONG_SINK,
    `${option} = "${id}": that component offers no ${key.name} (it is not a running ${option} sink); name a ${option} sink of this config or give a URL`,
  );
}

/**
 * Checks, without I/O, that sink names resolve to connections of the right kind. Called at
 * create, when the named sinks (declared in `uses`) have already been created and provide them.
 */
export function checkNamedSinks(options: Pick<EndpointOptions, 'postgres' | 'clickhouse' | 'use'>): void {
  if (!isConnectionUrl(options.postgres) && !options.use(PostgresConnection, options.postgres)) throw wrongSink('postgres', options.postgres, PostgresConnection);
  if (!isConnectionUrl(options.clickhouse) && !options.use(ClickHouseConnection, options.clickhouse)) throw wrongSink('clickhouse', options.clickhouse, ClickHouseConnection);
}

export function resolveEndpoints(o: EndpointOptions): Endpoints {
  let released = false;
  const ownPg = lazily<{ conn: OwnPostgres; flavour: PgFlavour }>(async () => {
    const conn = await connectPostgres(o.postgres, {
      dataDir: o.dataDir,
      logger: o.logger,
      pool: {
        max: 2,
        idleTimeoutMillis: 30_000,
        keepAlive: true,
        application_name: o.applicationName,
        statement_timeout: STATEMENT_TIMEOUT_MS,
        query_timeout: STATEMENT_TIMEOUT_MS + 10_000,
      },
    });
    try {
      return { conn, flavour: await detectFlavour(conn.pool) };
    } catch (err) {
      await conn.release();
      throw err;
    }
  });
  const ownCh = lazily<OwnClickHouse>(() => connectClickHouse(o.clickhouse, { dataDir: o.dataDir, logger: o.logger }));
  const closed = () => new ThermoclineError(CAGG_ERRORS.TC_CAGG_EXPORT_FAILED, 'the rollup exporter has stopped');

  return {
    async postgres() {
      if (released) throw closed();
      if (isConnectionUrl(o.postgres)) {
        const { conn, flavour } = await ownPg.get();
        return { pool: conn.pool, flavour, params: DEFAULT_MIGRATION_PARAMS, display: conn.displayUrl };
      }
      const handle = o.use(PostgresConnection, o.postgres);
      if (!handle) throw wrongSink('postgres', o.postgres, PostgresConnection);
      const [pool, flavour] = await Promise.all([handle.pool(), handle.flavour()]);
      return { pool, flavour, params: handle.params, display: `sink "${o.postgres}"` };
    },
    async clickhouse() {
      if (released) throw closed();
      if (isConnectionUrl(o.clickhouse)) {
        const conn = await ownCh.get();
        return { client: conn.client, database: conn.database, engine: conn.kind, display: conn.displayUrl };
      }
      const handle = o.use(ClickHouseConnection, o.clickhouse);
      if (!handle) throw wrongSink('clickhouse', o.clickhouse, ClickHouseConnection);
      const { client, database, engine } = await handle.connection();
      return { client, database, engine, display: `sink "${o.clickhouse}"` };
    },
    async release() {
      released = true;
      const pgConn = ownPg.peek();
      const chConn = ownCh.peek();
      ownPg.reset();
      ownCh.reset();
      await Promise.all([pgConn?.then((c) => c.conn.release(), () => undefined), chConn?.then((c) => c.release(), () => undefined)]);
    },
  };
}
