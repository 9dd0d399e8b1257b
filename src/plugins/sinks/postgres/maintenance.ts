import type { Logger } from 'pino';
import { type BoundCounter, errorMessage, RateLimitedLog } from '../../../index.js';
import { maintainPlainFlavour, type MigrationParams } from '../../../storage/index.js';
import type { SinkConnection } from './connection.js';
import { pruneLedger, pruneOriginLedger } from './ledger.js';
import type { PartitionGuard } from './partitions.js';

export interface MaintenanceOptions {
  readonly connection: SinkConnection;
  readonly params: Readonly<MigrationParams>;
  readonly guard: PartitionGuard;
  /** The ledger rows to prune: this sink's stream (ledger.ts), once a delivery has named it. */
  readonly ledger: () => string | undefined;
  /** The sink id, whose rows of deliveries named by an upstream identity are pruned too. */
  readonly sinkId: string;
  readonly ledgerRetentionMs: number;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly counters: { failures: BoundCounter; ledgerPruned: BoundCounter; partitionsDropped: BoundCounter; partitionsCreated: BoundCounter };
}

/**
 * The sink's periodic upkeep (docs/storage.md#plain-flavour-partitions-and-rollups): on plain
 * PostgreSQL, the coming days' partitions are created and those past retention dropped
 * (TimescaleDB does this with its own policies); on both flavours the sink's old ledger rows are
 * pruned. Runs once at start and then every `maintenance_interval`; a failure is logged and
 * counted and the next run tries again.
 */
export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly log: RateLimitedLog;

  constructor(private readonly o: MaintenanceOptions) {
    this.log = new RateLimitedLog(o.logger);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  /** One pass now, after the one in progress (tests pass a clock). */
  async run(now?: Date): Promise<void> {
    await this.running;
    await this.tick(now);
  }

  /** A scheduled pass is skipped while one is still running. */
  private tick(now?: Date): Promise<void> {
    this.running ??= this.pass(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async pass(now?: Date): Promise<void> {
    const { connection, params, guard, counters } = this.o;
    try {
      const { pool, flavour } = await connection.ready();
      if (flavour === 'plain') {
        const steps = await maintainPlainFlavour(pool, { params, ...(now ? { now } : {}) });
        const dropped = steps.filter((s) => s.name.startsWith('drop partition')).length;
        const created = steps.filter((s) => s.name.startsWith('create partition')).length;
        counters.partitionsDropped.inc(dropped);
        counters.partitionsCreated.inc(created);
        if (steps.length > 0) this.o.logger.info({ created, dropped, steps: steps.map((s) => s.name) }, 'partition maintenance');
        await guard.refresh(pool);
      }
      const stream = this.o.ledger();
      if (stream !== undefined) counters.ledgerPruned.inc(await pruneLedger(pool, stream, this.o.ledgerRetentionMs));
      counters.ledgerPruned.inc(await pruneOriginLedger(pool, this.o.sinkId, this.o.ledgerRetentionMs));
    } catch (err) {
      counters.failures.inc();
      this.log.warn(
        'maintenance',
        { err: { message: errorMessage(err), code: (err as { code?: string }).code } },
        `maintenance failed, will try again: ${errorMessage(err)}`,
      );
    }
  }
}
