import type pg from 'pg';
import type { TextCleaner } from './clean.js';
import { CopyBuffer } from './copy-buffer.js';
import type { DeliveryEvents } from './events.js';
import type { PartitionGuard } from './partitions.js';
import { liveRows, Planner, tablesOf, type Plan } from './plan.js';
import type { SeriesResolver } from './series.js';
import type { TableRows } from './tables.js';
import type { Row } from './typed-tables.js';

/**
 * Events planned per step of the streamed COPY. Small enough that the server starts on the first
 * rows at once, large enough that a series miss costs one round trip for many rows.
 */
const STEP_EVENTS = 2000;
/** The first step is smaller: until its rows are sent, the server has nothing to do. */
const FIRST_STEP_EVENTS = 500;

export interface DeliveryDeps {
  readonly pool: pg.Pool;
  readonly cleaner: TextCleaner;
  readonly series: SeriesResolver;
  /** Plain PostgreSQL only. */
  readonly partitions?: PartitionGuard;
  /**
   * Plain PostgreSQL: `partitions.prepare` was called with every event of the delivery, so a day
   * still without a partition is the server's to refuse (a partition dropped meanwhile).
   */
  readonly partitionsPrepared?: boolean;
  /** Whether a business event of this type also goes to `events_generic` (default: all do). */
  readonly generic?: (type: string) => boolean;
}

/**
 * Thrown while planning when a row's day is inside the partition window but has no partition
 * (plain PostgreSQL): the transaction is abandoned, the sink creates the partitions of every day of
 * the delivery (outside any transaction: creating one locks the parent table) and plans it again.
 * Rare: the coming days' partitions are made ahead of time, so only late rows meet it.
 */
export class PartitionsNeeded extends Error {
  constructor() {
    super('a row of the delivery falls on a day whose partition is not made yet');
    this.name = 'PartitionsNeeded';
  }
}

/**
 * One `write` call's events on their way to the tables. The agent's work per point (decoding,
 * planning, series lookup, encoding: a few microseconds) is done step by step inside the COPY of
 * `metrics_points`, so that it overlaps the server's work on the rows already sent instead of
 * adding to it (measured in bench/postgres-sink.ts). The other tables, which carry far fewer rows,
 * are written once everything is planned.
 */
export class Delivery {
  private readonly planner: Planner;
  readonly plan: Plan;

  constructor(
    private readonly events: DeliveryEvents,
    private readonly deps: DeliveryDeps,
  ) {
    this.planner = new Planner(events, deps.cleaner, deps.partitions, deps.generic);
    this.plan = this.planner.plan;
  }

  get tables(): TableRows[] {
    return tablesOf(this.plan);
  }

  /** Plain PostgreSQL: reads the partitions and the window (before any transaction opens). */
  async prepare(): Promise<void> {
    await this.deps.partitions?.open(this.deps.pool);
  }

  /**
   * Whether any event goes to metrics_points (the streamed table). Plans until the first such row,
   * which the COPY starts with anyway.
   */
  hasPoints(): boolean {
    const { planner, plan } = this;
    while (plan.points.length === 0 && !planner.done) this.planStep(planner.planned + (planner.planned === 0 ? FIRST_STEP_EVENTS : STEP_EVENTS));
    return plan.points.length > 0;
  }

  /** The rejections that depend on the events alone: what a replay reports (no I/O). */
  plannedRejections(): Map<number, string> {
    this.planner.planAll();
    return new Map(this.plan.rejected);
  }

  /** The delivery's business events, with their indexes (plans the rest first). */
  businessEvents(): readonly Row[] {
    this.planner.planAll();
    return this.planner.business;
  }

  /** Plans the rest and resolves its series; afterwards `live` covers every table. */
  async complete(): Promise<void> {
    this.planStep(this.events.length);
    await this.deps.series.assign(this.deps.pool, [this.plan.points, this.plan.histograms], this.plan.rejected);
  }

  /** Row numbers of `rows` to write: those not rejected so far. */
  live(rows: TableRows): number[] {
    return liveRows(rows, this.plan.rejected);
  }

  /** The COPY data of metrics_points, planned and encoded as the stream is read. */
  async *streamPoints(): AsyncGenerator<Buffer> {
    const { plan, planner, deps } = this;
    const points = plan.points;
    const out = new CopyBuffer();
    let row = 0;
    // hasPoints() planned the first step already.
    do {
      if (row === points.length) this.planStep(planner.planned + STEP_EVENTS);
      await deps.series.assign(deps.pool, [points, plan.histograms], plan.rejected);
      const { rejected } = plan;
      const { eventIndex } = points;
      for (; row < points.length; row++) {
        if (rejected.size === 0 || !rejected.has(eventIndex[row] as number)) points.encodeRow(out, row);
      }
      // Hand over what this step encoded, so the server works on it while the next step is planned.
      out.flush();
      yield* out.takeChunks();
    } while (!planner.done);
    yield* out.finish();
  }

  private planStep(end: number): void {
    this.planner.planUntil(end);
    if (this.planner.partitionMissing && !this.deps.partitionsPrepared) throw new PartitionsNeeded();
  }
}
