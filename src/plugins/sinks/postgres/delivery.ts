import type pg from 'pg';
import type { TelemetryEvent } from '../../../index.js';
import type { TextCleaner } from './clean.js';
import { CopyBuffer } from './copy-buffer.js';
import type { PartitionGuard } from './partitions.js';
import { liveRows, Planner, tablesOf, type Plan } from './plan.js';
import type { SeriesResolver } from './series.js';
import type { TableRows } from './tables.js';

/**
 * Events planned per step of the streamed COPY. Small enough that the server starts on the first
 * rows at once, large enough that a series miss costs one round trip for many rows.
 */
const STEP_EVENTS = 2000;

export interface DeliveryDeps {
  readonly pool: pg.Pool;
  readonly cleaner: TextCleaner;
  readonly series: SeriesResolver;
  /** Plain PostgreSQL only. */
  readonly partitions?: PartitionGuard;
  /** Whether a business event of this type also goes to `events_generic` (default: all do). */
  readonly generic?: (type: string) => boolean;
}

/**
 * One `write` call's events on their way to the tables. The agent's work per point (planning,
 * series lookup, encoding: a few microseconds) is done step by step inside the COPY of
 * `metrics_points`, so that it overlaps the server's work on the rows already sent instead of
 * adding to it (measured in bench/postgres-sink.ts). The other tables, which carry far fewer rows,
 * are written once everything is planned.
 */
export class Delivery {
  private readonly planner: Planner;
  readonly plan: Plan;
  /** Whether any event goes to metrics_points (the streamed table). */
  readonly hasPoints: boolean;

  constructor(
    private readonly events: readonly TelemetryEvent[],
    private readonly deps: DeliveryDeps,
  ) {
    this.planner = new Planner(events, deps.cleaner, deps.partitions, deps.generic);
    this.plan = this.planner.plan;
    this.hasPoints = events.some((e) => e.kind === 'metric' && e.type !== 'histogram');
  }

  get tables(): TableRows[] {
    return tablesOf(this.plan);
  }

  /** Plain PostgreSQL: creates the partitions the delivery needs (before any transaction opens). */
  async prepare(): Promise<void> {
    await this.deps.partitions?.prepare(this.deps.pool, this.events);
  }

  /** The rejections that depend on the events alone: what a replay reports (no I/O). */
  plannedRejections(): Map<number, string> {
    this.planner.planAll();
    return new Map(this.plan.rejected);
  }

  /** Plans the rest and resolves its series; afterwards `live` covers every table. */
  async complete(): Promise<void> {
    this.planner.planAll();
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
    for (let end = STEP_EVENTS; !planner.done; end += STEP_EVENTS) {
      planner.planUntil(end);
      await deps.series.assign(deps.pool, [points, plan.histograms], plan.rejected);
      const { rejected } = plan;
      const { eventIndex } = points;
      for (; row < points.length; row++) {
        if (rejected.size === 0 || !rejected.has(eventIndex[row] as number)) points.encodeRow(out, row);
      }
      // Hand over what this step encoded, so the server works on it while the next step is planned.
      out.flush();
      yield* out.takeChunks();
    }
    yield* out.finish();
  }
}
