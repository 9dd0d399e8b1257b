/**
 * The clickhouse sink instance: wires the connection, the table schemas, the batch writer and the
 * health check together, and publishes the connection handle (handle.ts).
 *
 * Lifecycle (src/core/plugin/types.ts): `start()` connects (and migrates); `write()` may be called
 * again with the same `meta` after any failure and must then insert nothing twice; `stop()` is
 * idempotent, safe without `start()`, and releases the connection (for chdb, this sink's hold on
 * the shared engine).
 */
import { type ComponentContext, RateLimitedLog, type SinkInstance, type ThermoclineError, type WriteResult } from '../../../index.js';
import type { ClickHouseConfig } from './config.js';
import { SinkConnection, claimChdbDirectory } from './connection.js';
import { needsOperator, toSinkError } from './failures.js';
import { ClickHouseConnection } from './api.js';
import type { ClickHouseHandle } from './handle.js';
import { probeTables } from './healthcheck.js';
import type { InsertOptions, InsertTarget } from './insert.js';
import { InsertFailure } from './isolate.js';
import { type TableSchema, loadTableSchema } from './schema.js';
import { type TableRole, mappedTables, rolesOf } from './tables.js';
import { writeBatch } from './write-batch.js';

/** Not configuration: lets tests provoke real engine errors (e.g. `readonly: 1` gives READONLY). */
export interface SinkInternals {
  readonly settings?: Readonly<Record<string, string | number>>;
}

interface Prepared {
  readonly target: InsertTarget;
  readonly schemas: ReadonlyMap<TableRole, TableSchema>;
}

export function createClickHouseSink(config: ClickHouseConfig, ctx: ComponentContext, internals: SinkInternals = {}): SinkInstance {
  const releaseClaim = claimChdbDirectory(config.url, ctx.dataDir);
  const connection = new SinkConnection(config.url, { dataDir: ctx.dataDir, logger: ctx.logger, migrate: config.migrate, cluster: config.cluster });
  const tables = mappedTables(config.tables);
  const options: InsertOptions = {
    compression: config.compression,
    insertMode: config.insert_mode,
    ...(internals.settings ? { settings: internals.settings } : {}),
  };
  const log = new RateLimitedLog(ctx.logger);
  const rowsWritten = ctx.metrics.counter('rows_written_total', 'Rows written to ClickHouse, all tables together (each event of a span is a row).');
  const isolationInserts = ctx.metrics.counter('isolation_inserts_total', 'Extra inserts made to isolate rows that ClickHouse rejected.');
  /** Read on first use per table, and again after a schema error. */
  const schemas = new Map<TableRole, Promise<TableSchema>>();

  const handle: ClickHouseHandle = {
    kind: 'clickhouse',
    sink: ctx.id,
    async connection() {
      const c = await connection.get();
      return { client: c.client, database: c.database, engine: c.kind };
    },
  };
  ctx.provide(ClickHouseConnection, handle);

  /** Operator problems are logged with what to do; the runtime's own retry log has no hint. */
  const report = (err: ThermoclineError): ThermoclineError => {
    if (needsOperator(err)) log.error(err.code, { code: err.code, hint: err.hint }, `${err.message} — ${err.hint ?? ''}`);
    return err;
  };

  /** The connection and the schemas of the tables `roles` write to. */
  async function prepare(roles: Iterable<TableRole>): Promise<Prepared> {
    const c = await connection.get();
    const out = new Map<TableRole, TableSchema>();
    for (const role of roles) {
      const table = tables.get(role);
      if (table === undefined) continue;
      let loading = schemas.get(role);
      if (!loading) {
        const started = loadTableSchema(c.client, c.database, table, role);
        schemas.set(role, (loading = started));
        started.catch(() => {
          if (schemas.get(role) === started) schemas.delete(role);
        });
      }
      out.set(role, await loading);
    }
    return { target: { client: c.client, database: c.database, kind: c.kind }, schemas: out };
  }

  return {
    async start() {
      try {
        await connection.get();
      } catch (err) {
        throw report(toSinkError(err, 'connecting to ClickHouse'));
      }
    },

    async write(events, meta): Promise<WriteResult | void> {
      let prepared: Prepared;
      try {
        prepared = await prepare(rolesOf(events));
      } catch (err) {
        throw report(toSinkError(err, 'reading the table schemas'));
      }
      let outcome;
      try {
        outcome = await writeBatch(events, meta.delivery, prepared.target, prepared.schemas, options);
      } catch (err) {
        // The table may have been dropped or altered: read it again before the retry.
        if (err instanceof InsertFailure && err.failure.kind === 'schema') schemas.clear();
        const what = err instanceof InsertFailure ? `INSERT into ${prepared.target.database}.${err.table}` : 'INSERT';
        throw report(toSinkError(err, what));
      }
      rowsWritten.inc(outcome.rows);
      if (outcome.splitInserts > 0) isolationInserts.inc(outcome.splitInserts);
      if (outcome.rejected.length === 0) return;
      const first = outcome.rejected[0]?.reason ?? '';
      log.warn(
        'rejected',
        { seq: meta.delivery.first, rejected: outcome.rejected.length },
        `${outcome.rejected.length} event(s) rejected and moved to the dead-letter table; first reason: ${first}`,
      );
      return { rejected: outcome.rejected };
    },

    async healthcheck() {
      let prepared: Prepared;
      try {
        prepared = await prepare(tables.keys());
      } catch (err) {
        throw report(toSinkError(err, 'health check'));
      }
      await probeTables(prepared.target, prepared.schemas.values(), internals.settings).catch((err: unknown) => {
        throw report(err as ThermoclineError);
      });
    },

    async stop() {
      releaseClaim();
      await connection.release();
    },
  };
}
