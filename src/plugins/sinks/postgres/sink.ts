import type pg from 'pg';
import {
  type ComponentContext,
  type EncodedBatch,
  RateLimitedLog,
  RetryableError,
  SchemaRegistry,
  type SinkInstance,
  type TelemetryEvent,
  type WriteMeta,
  type WriteResult,
} from '../../../index.js';
import type { MigrationParams, PgFlavour } from '../../../storage/index.js';
import { sqlStateOf, toSinkError } from './classify.js';
import { TextCleaner } from './clean.js';
import type { PostgresSinkConfig } from './config.js';
import { SinkConnection } from './connection.js';
import { FOREIGN_KEY_VIOLATION } from './copy.js';
import type { PostgresHandle } from './handle.js';
import { checkHealth } from './healthcheck.js';
import { LegacyLedger } from './ledger.js';
import { Maintenance } from './maintenance.js';
import { resolveSinkParams } from './params.js';
import { PartitionGuard } from './partitions.js';
import { Delivery, PartitionsNeeded } from './delivery.js';
import { DeliveryEvents } from './events.js';
import { SeriesResolver } from './series.js';
import { type CommitOutcome, commitDelivery } from './writer.js';
import { PG_SINK_ERRORS } from './errors.js';
import { TypedTables } from './typed-tables.js';

const CHECK_VIOLATION = '23514';

/** Every rejected row once; the first stage that refused it gives the reason. */
function merged(first: ReadonlyMap<number, string>, then: ReadonlyMap<number, string>): ReadonlyMap<number, string> {
  if (then.size === 0) return first;
  const out = new Map(first);
  for (const [i, reason] of then) if (!out.has(i)) out.set(i, reason);
  return out;
}

/** The postgres sink: see README.md for what it stores and what it guarantees. */
export class PostgresSink implements SinkInstance {
  readonly params: Readonly<MigrationParams>;
  private readonly connection: SinkConnection;
  private readonly cleaner = new TextCleaner();
  private readonly series: SeriesResolver;
  private readonly guard: PartitionGuard;
  private readonly maintenance: Maintenance;
  private readonly log: RateLimitedLog;
  private readonly counters;
  private readonly legacy: LegacyLedger;
  /** The ledger stream of the deliveries written so far (ledger.ts). */
  private stream: string | undefined;
  private readonly registry: SchemaRegistry | undefined;
  private readonly typed: TypedTables | undefined;

  constructor(
    config: PostgresSinkConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.params = resolveSinkParams(config);
    const m = ctx.metrics;
    this.counters = {
      seriesCreated: m.counter('series_created_total', 'Series this sink inserted into metric_series.'),
      seriesLookups: m.counter('series_lookups_total', 'Series looked up in the database because the cache did not hold them.'),
      cacheEntries: m.gauge('series_cache_entries', 'Series ids held in the cache.'),
      replaced: m.counter(
        'characters_replaced_total',
        'NUL characters and unpaired UTF-16 surrogates replaced by U+FFFD, which PostgreSQL text and jsonb cannot store.',
      ),
      replayed: m.counter('replayed_deliveries_total', 'Deliveries found already committed in the ledger and acknowledged without writing.'),
      partitionsCreated: m.counter('partitions_created_total', 'Daily partitions created (plain PostgreSQL), ahead of time or for a row that needed one.'),
      partitionsDropped: m.counter('partitions_dropped_total', 'Daily partitions dropped past retention (plain PostgreSQL).'),
      ledgerPruned: m.counter('ledger_rows_pruned_total', 'Rows of this sink deleted from the thermocline_batches ledger after ledger_retention.'),
      maintenanceFailures: m.counter('maintenance_failures_total', 'Maintenance passes (partitions, ledger pruning) that failed; the next pass tries again.'),
    };
    this.log = new RateLimitedLog(ctx.logger);
    this.legacy = new LegacyLedger(ctx.id, ctx.state);
    this.connection = new SinkConnection({
      config,
      params: this.params,
      dataDir: ctx.dataDir,
      logger: ctx.logger,
      applicationName: `thermocline:${ctx.id}`.slice(0, 63),
    });
    this.series = new SeriesResolver(config.series_cache_size, this.cleaner, {
      created: (n) => this.counters.seriesCreated.inc(n),
      resolved: (n) => this.counters.seriesLookups.inc(n),
    });
    if (config.typed_tables === 'create') {
      const tablesCreated = m.counter('typed_tables_created_total', 'Typed business event tables this sink created on first use.');
      this.registry = new SchemaRegistry({ pool: async () => (await this.connection.ready()).pool, state: ctx.state, logger: ctx.logger });
      this.typed = new TypedTables(this.registry, this.params.pg_events_retention_days, () => tablesCreated.inc());
    }
    this.guard = new PartitionGuard(this.params, config.max_future, (names) => this.counters.partitionsCreated.inc(names.length));
    this.maintenance = new Maintenance({
      connection: this.connection,
      params: this.params,
      guard: this.guard,
      ledger: () => this.stream,
      sinkId: ctx.id,
      ledgerRetentionMs: config.ledger_retention,
      intervalMs: config.maintenance_interval,
      logger: ctx.logger,
      counters: {
        failures: this.counters.maintenanceFailures,
        ledgerPruned: this.counters.ledgerPruned,
        partitionsDropped: this.counters.partitionsDropped,
        partitionsCreated: this.counters.partitionsCreated,
      },
    });
  }

  /** What the sink provides as `PostgresConnection` (api.ts); usable before `start()` (it connects on demand). */
  handle(): PostgresHandle {
    return {
      kind: 'postgres',
      sink: this.ctx.id,
      pool: async () => (await this.connection.ready()).pool,
      flavour: async () => (await this.connection.ready()).flavour,
      params: this.params,
    };
  }

  /** Maintenance now (tests pass a clock); also runs at start and every `maintenance_interval`. */
  runMaintenance(now?: Date): Promise<void> {
    return this.maintenance.run(now);
  }

  async start(): Promise<void> {
    const { pool, flavour, displayUrl } = await this.connection.ready();
    if (flavour === 'plain') await this.guard.refresh(pool);
    await this.registry?.start();
    this.maintenance.start();
    this.ctx.logger.info({ url: displayUrl, flavour }, 'postgres sink connected');
  }

  async healthcheck(): Promise<void> {
    const { pool, flavour } = await this.connection.ready();
    await checkHealth(pool, flavour, this.params);
  }

  write(events: TelemetryEvent[], meta: WriteMeta): Promise<WriteResult | void> {
    return this.deliver(DeliveryEvents.of(events), meta);
  }

  /** What the runtime calls: the batches as queued, decoded while the COPY streams (events.ts). */
  writeEncoded(batches: readonly EncodedBatch[], meta: WriteMeta): Promise<WriteResult | void> {
    return this.deliver(DeliveryEvents.encoded(batches), meta);
  }

  private async deliver(events: DeliveryEvents, meta: WriteMeta): Promise<WriteResult | void> {
    try {
      const { pool, flavour } = await this.connection.ready();
      const typed = this.typed;
      // Idempotent on its own (ON CONFLICT DO NOTHING), so it may run before the ledger commit;
      // the same rows are refused on a replay, so a replay reports them again.
      let typedRejected: Map<number, string> | undefined;
      let delivery = this.delivery(events, pool, flavour, false);
      const writeTyped = async () => {
        typedRejected ??= (await typed?.writeRows(pool, flavour, delivery.businessEvents())) ?? new Map<number, string>();
        return typedRejected;
      };
      let outcome: CommitOutcome;
      try {
        outcome = await this.commit(pool, flavour, delivery, meta, writeTyped);
      } catch (err) {
        if (!(err instanceof PartitionsNeeded)) throw err;
        // A late row's day has no partition yet: make them (outside any transaction), plan again.
        await this.guard.prepare(pool, events.all());
        delivery = this.delivery(events, pool, flavour, true);
        outcome = await this.commit(pool, flavour, delivery, meta, writeTyped);
      }
      if (meta.delivery.origin === undefined) this.stream = meta.delivery.stream;
      if (outcome === 'written' && this.legacy.active) await this.retireLegacy(pool);
      if (outcome === 'replayed') {
        this.counters.replayed.inc();
        this.ctx.logger.info({ seq: meta.delivery.first, last_seq: meta.delivery.last }, 'delivery already committed (ledger); acknowledged without writing');
        // A replay gets the rejections that depend on the events alone (see README: delivery guarantee).
        return this.result(merged(delivery.plannedRejections(), await writeTyped()));
      }
      return this.result(merged(delivery.plan.rejected, await writeTyped()));
    } catch (err) {
      if (sqlStateOf(err) === FOREIGN_KEY_VIOLATION) {
        // The cache names a series that metric_series no longer holds (deleted or truncated).
        this.series.clear();
        throw new RetryableError(
          `a cached series id is gone from metric_series; the cache was cleared and the delivery is retried: ${(err as Error).message}`,
          {
            cause: err,
            code: PG_SINK_ERRORS.TC_PG_SINK_UNAVAILABLE,
          },
        );
      }
      throw toSinkError(err, 'writing to PostgreSQL');
    } finally {
      this.counters.replaced.inc(this.cleaner.take());
      this.counters.cacheEntries.set(this.series.size);
    }
  }

  private delivery(events: DeliveryEvents, pool: pg.Pool, flavour: PgFlavour, partitionsPrepared: boolean): Delivery {
    const typed = this.typed;
    return new Delivery(events, {
      pool,
      cleaner: this.cleaner,
      series: this.series,
      ...(flavour === 'plain' ? { partitions: this.guard, partitionsPrepared } : {}),
      ...(typed ? { generic: (type: string) => typed.generic(type) } : {}),
    });
  }

  private async commit(pool: pg.Pool, flavour: PgFlavour, delivery: Delivery, meta: WriteMeta, planned: () => Promise<unknown>): Promise<CommitOutcome> {
    await delivery.prepare();
    return commitDelivery(pool, delivery, {
      identity: meta.delivery,
      legacy: this.legacy,
      planned,
      beforeIsolating: async (err) => {
        // No DEFAULT partition: 23514 may mean a partition was dropped under us, not a bad row.
        if (flavour !== 'plain' || sqlStateOf(err) !== CHECK_VIOLATION) return;
        await this.guard.refresh(pool);
        if (!this.guard.covers(delivery.tables, delivery.plan.rejected)) {
          throw new RetryableError('a partition the delivery needs was dropped while writing; retrying', { cause: err, code: PG_SINK_ERRORS.TC_PG_SINK_UNAVAILABLE });
        }
      },
    });
  }

  private async retireLegacy(pool: Parameters<LegacyLedger['retire']>[0]): Promise<void> {
    try {
      await this.legacy.retire(pool);
      this.ctx.logger.info('ledger rows now named by the delivery identity; the rows under the old name were removed');
    } catch (err) {
      // The delivery is committed; an old row left behind is only clutter.
      this.ctx.logger.warn({ err }, 'could not delete the ledger rows under the old name');
    }
  }

  private result(rejected: ReadonlyMap<number, string>): WriteResult | undefined {
    if (rejected.size === 0) return undefined;
    const rows = [...rejected].sort(([a], [b]) => a - b).map(([index, reason]) => ({ index, reason }));
    this.log.warn('rejected', { rejected: rows.length, first: rows[0]?.reason }, `${rows.length} row(s) moved to the dead-letter table: ${rows[0]?.reason}`);
    return { rejected: rows };
  }

  async stop(): Promise<void> {
    await this.maintenance.stop();
    await this.registry?.stop();
    await this.connection.close();
  }
}
