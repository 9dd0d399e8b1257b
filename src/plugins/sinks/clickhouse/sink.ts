/**
 * The clickhouse sink instance: wires the connection, the table schemas, the batch writer and the
 * health check together, and publishes the connection handle (handle.ts).
 *
 * Lifecycle (src/core/plugin/types.ts): `start()` connects (and migrates); `write()` may be called
 * again with the same `meta` after any failure and must then insert nothing twice; `stop()` is
 * idempotent, safe without `start()`, and releases the connection (for chdb, this sink's hold on
 * the shared engine).
 */
import {
  type ComponentContext,
  type Delivery,
  type EncodedBatch,
  REGISTRY_ERRORS,
  RateLimitedLog,
  RetryableError,
  schemaRegistryOf,
  type SinkInstance,
  type TelemetryEvent,
  ThermoclineError,
  type WriteResult,
  decodeBatch,
  errorMessage,
} from '../../../index.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ClickHouseConfig } from './config.js';
import { SinkConnection, claimChdbDirectory, isEmbeddedUrl } from './connection.js';
import { needsOperator, toSinkError } from './failures.js';
import { ClickHouseConnection } from './api.js';
import type { ClickHouseHandle } from './handle.js';
import { probeTables } from './healthcheck.js';
import type { InsertOptions, InsertTarget } from './insert.js';
import { InsertFailure } from './isolate.js';
import { type TableSchema, loadTableSchema } from './schema.js';
import { type TableRole, mappedTables, rolesOf } from './tables.js';
import { SpoolAhead } from './spool-ahead.js';
import { kindsOf, writeEncodedBatch } from './write-encoded.js';
import { TypedTables } from './typed-tables.js';
import { type BatchOutcome, type TypedWrite, writeBatch } from './write-batch.js';

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
  /** RowBinary bodies for the embedded engine, while one is inserted (insert-file.ts). */
  const spoolDir = path.join(ctx.dataDir, 'spool', `clickhouse-${ctx.id}`);
  const rowsWritten = ctx.metrics.counter('rows_written_total', 'Rows written to ClickHouse, all tables together (each event of a span is a row).');
  const isolationInserts = ctx.metrics.counter('isolation_inserts_total', 'Extra inserts made to isolate rows that ClickHouse rejected.');
  /** Read on first use per table, and again after a schema error. */
  const schemas = new Map<TableRole, Promise<TableSchema>>();
  const registry = config.typed_tables === 'create' ? schemaRegistryOf(ctx, config.registry ?? '') : undefined;
  const typedCreated = ctx.metrics.counter('typed_tables_created_total', 'Typed business event tables this sink created on first use.');
  const eventsSkipped = ctx.metrics.counter(
    'events_skipped_total',
    'Business events acknowledged without a row here: no typed ClickHouse table of their schema takes them and tables.event is unset (typed_tables = "create").',
  );
  const typed = registry
    ? new TypedTables({ registry, mapped: new Set(tables.values()), cluster: config.cluster, onCreated: () => typedCreated.inc() })
    : undefined;
  /**
   * Whether deliveries taken as queued go as RowBinary (write-encoded.ts) to this engine; else they
   * are decoded and written as JSON. Asynchronous inserts take data in the request only, not from
   * the embedded engine's INSERT … SELECT (insert-file.ts).
   */
  const rowBinaryTo = (kind: 'server' | 'embedded'): boolean =>
    config.insert_format === 'auto' && !typed && (kind === 'server' || config.insert_mode === 'sync');
  /** The embedded engine's next RowBinary bodies, spooled while the delivery before is inserted. */
  const ahead = isEmbeddedUrl(config.url, ctx.dataDir) && rowBinaryTo('embedded') ? new SpoolAhead(spoolDir, (role) => schemas.get(role)) : undefined;

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

  /** The typed tables' part of a delivery; undefined without typed tables or business events. */
  async function planTyped(events: readonly TelemetryEvent[], target: Prepared['target']): Promise<TypedWrite | undefined> {
    if (!typed || !events.some((e) => e.kind === 'event')) return undefined;
    try {
      await typed.refresh(events);
    } catch (err) {
      throw new RetryableError(`the schema registry has not been read yet, so the typed tables are unknown: ${errorMessage(err)}`, {
        code: REGISTRY_ERRORS.TC_SCHEMA_REGISTRY_UNREACHABLE,
        cause: err,
      });
    }
    const plan = await typed.plan(target.client, target.database, events);
    const hasEventTable = tables.has('event');
    const taken = new Set([...plan.tables.flatMap((t) => t.rows.sources), ...plan.rejected.map((r) => r.index)]);
    let skipped = 0;
    for (let i = 0; i < events.length; i++) if (events[i]?.kind === 'event' && !taken.has(i) && !hasEventTable) skipped++;
    if (skipped > 0) eventsSkipped.inc(skipped);
    return { plan, genericEvent: (i) => hasEventTable && !plan.typedOnly.has(i) };
  }

  async function prepareOrReport(roles: Iterable<TableRole>): Promise<Prepared> {
    try {
      return await prepare(roles);
    } catch (err) {
      throw report(toSinkError(err, 'reading the table schemas'));
    }
  }

  /** Runs a delivery's inserts, counts them, and logs and returns the rows it rejected. */
  async function deliver(delivery: Delivery, prepared: Prepared, run: () => Promise<BatchOutcome>): Promise<WriteResult | void> {
    let outcome: BatchOutcome;
    try {
      outcome = await run();
    } catch (err) {
      // The table may have been dropped or altered: read it again before the retry.
      if (err instanceof InsertFailure && err.failure.kind === 'schema') {
        schemas.clear();
        typed?.forget();
      }
      const what = err instanceof InsertFailure ? `INSERT into ${prepared.target.database}.${err.table}` : 'INSERT';
      throw report(toSinkError(err, what));
    }
    rowsWritten.inc(outcome.rows);
    if (outcome.splitInserts > 0) isolationInserts.inc(outcome.splitInserts);
    if (outcome.rejected.length === 0) return;
    const first = outcome.rejected[0]?.reason ?? '';
    log.warn(
      'rejected',
      { seq: delivery.first, rejected: outcome.rejected.length },
      `${outcome.rejected.length} event(s) rejected and moved to the dead-letter table; first reason: ${first}`,
    );
    return { rejected: outcome.rejected };
  }

  const instance: SinkInstance = {
    async start() {
      // A body left by a crash mid-insert: its delivery is replayed from the queue.
      await fs.rm(spoolDir, { recursive: true, force: true });
      try {
        await connection.get();
      } catch (err) {
        throw report(toSinkError(err, 'connecting to ClickHouse'));
      }
      // Never throws: an unreachable registry is read again in the background (and by write()).
      await registry?.start();
    },

    async write(events, meta): Promise<WriteResult | void> {
      const prepared = await prepareOrReport(rolesOf(events));
      let typedWrite: TypedWrite | undefined;
      try {
        typedWrite = await planTyped(events, prepared.target);
      } catch (err) {
        throw report(toSinkError(err, 'creating or widening a typed event table'));
      }
      return deliver(meta.delivery, prepared, () => writeBatch(events, meta.delivery, prepared.target, prepared.schemas, options, typedWrite));
    },

    /**
     * The batches as queued: RowBinary straight from their bytes to a server (write-encoded.ts);
     * decoded and written as JSON where that path does not go (README "Insert format").
     */
    async writeEncoded(batches, meta): Promise<WriteResult | void> {
      // Before any await: an offer of the next delivery made meanwhile must not replace this one's.
      const spooled = ahead?.forWrite(meta.delivery);
      try {
        let kind: 'server' | 'embedded';
        try {
          kind = (await connection.get()).kind;
        } catch (err) {
          throw report(toSinkError(err, 'connecting to ClickHouse'));
        }
        const decode = () => batches.flatMap((b: EncodedBatch) => decodeBatch(b.data));
        if (!rowBinaryTo(kind)) return await instance.write(decode(), meta);
        const roles = rolesOf([...kindsOf(batches)].map((k) => ({ kind: k })));
        const prepared = await prepareOrReport(roles);
        return await deliver(meta.delivery, prepared, () => writeEncodedBatch(batches, meta.delivery, prepared.target, prepared.schemas, options, decode, spoolDir, spooled));
      } finally {
        await spooled?.done();
      }
    },

    ...(ahead ? { prepareEncoded: (batches: readonly EncodedBatch[], delivery: Delivery) => ahead.offer(batches, delivery) } : {}),

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
      await ahead?.stop();
      await registry?.stop();
      await connection.release();
    },
  };
  return instance;
}
