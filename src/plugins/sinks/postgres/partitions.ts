import type pg from 'pg';
import type { TelemetryEvent } from '../../../index.js';
import { ensurePartitions, listPartitions, type MigrationParams, PARTITIONED_TABLES, type PartitionedTable } from '../../../storage/index.js';
import type { TableRows } from './tables.js';

const DAY_US = 86_400_000_000;
const DAY_MS = 86_400_000;

/** The UTC day (since the Unix epoch) of a time in microseconds, as the planner rounds it. */
const dayOf = (timeUs: number) => Math.floor(Math.round(timeUs) / DAY_US);

/** `PartitionGuard.refusal` of a row whose day is inside the window but has no partition yet. */
export const NO_PARTITION_YET = Symbol('no partition yet');

/**
 * Plain PostgreSQL has no DEFAULT partition (docs/storage.md): a row for a day without a partition
 * fails the whole COPY with SQLSTATE 23514. Before each delivery the sink therefore checks its days
 * against the partitions it knows and creates the missing ones, within a window: back to the
 * retention (an older partition would be dropped by the next maintenance, with its rows) and ahead
 * by `max_future`. Rows outside it are rejected with a reason (`refusal`) instead of failing the
 * batch. TimescaleDB creates chunks itself: the guard is not used there.
 */
export class PartitionGuard {
  /** Table -> days (since the Unix epoch) that have a partition. */
  private known: Map<string, Set<number>> | undefined;
  private window = { first: 0, last: 0, firstEvents: 0 };
  private lastDay = Number.NaN;
  private lastTable: string | undefined;

  constructor(
    private readonly params: Readonly<MigrationParams>,
    private readonly maxFutureMs: number,
    private readonly onCreated: (names: string[]) => void,
  ) {}

  /** Reads the existing partitions again (after maintenance, or when a COPY found one missing). */
  async refresh(pool: pg.Pool): Promise<void> {
    const known = new Map<string, Set<number>>();
    this.lastDay = Number.NaN;
    for (const table of PARTITIONED_TABLES) {
      known.set(table, new Set((await listPartitions(pool, table)).map((p) => Math.round(p.from.getTime() / DAY_MS))));
    }
    this.known = known;
  }

  /**
   * Before a delivery is planned: the partitions known, and the window at `now`. Rows of a day
   * inside the window that has no partition are then reported as `NO_PARTITION_YET`: the delivery
   * calls `prepare` with its events and is planned again (delivery.ts).
   */
  async open(pool: pg.Pool, now = Date.now()): Promise<void> {
    if (this.known === undefined) await this.refresh(pool);
    this.window = this.windowAt(now);
  }

  /** Creates the missing partitions of the delivery's days that fall within the window. */
  async prepare(pool: pg.Pool, events: readonly TelemetryEvent[], now = Date.now()): Promise<void> {
    await this.open(pool, now);
    for (const [table, days] of daysOf(events)) {
      const known = this.known?.get(table);
      const first = table === 'events_generic' ? this.window.firstEvents : this.window.first;
      for (const day of [...days].sort((a, b) => a - b)) {
        if (known?.has(day) || day < first || day > this.window.last) continue;
        const from = new Date(day * DAY_MS);
        const created = await ensurePartitions(pool, { table, from, to: from });
        if (created.length > 0) this.onCreated(created);
        known?.add(day);
      }
    }
  }

  /**
   * Why a row of `table` at `timeUs` cannot be written (its day is outside the window), undefined
   * when its day has a partition, or `NO_PARTITION_YET` when `prepare` would create it.
   */
  refusal(table: PartitionedTable, timeUs: number): string | typeof NO_PARTITION_YET | undefined {
    const day = dayOf(timeUs);
    // Called for every row: most rows of a delivery fall on the day of the row before.
    if (day === this.lastDay && table === this.lastTable) return undefined;
    if (this.known?.get(table)?.has(day) !== false) {
      this.lastDay = day;
      this.lastTable = table;
      return undefined;
    }
    const first = table === 'events_generic' ? this.window.firstEvents : this.window.first;
    if (day >= first && day <= this.window.last) return NO_PARTITION_YET;
    const iso = (d: number) => new Date(d * DAY_MS).toISOString().slice(0, 10);
    const ms = timeUs / 1000;
    const when = Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${timeUs} µs since 1970`;
    return (
      `TC_PG_SINK_PARTITION_WINDOW: ${table} has no partition for ${when}, and the sink creates them only for ` +
      `${iso(first)} to ${iso(this.window.last)} (the retention back, max_future ahead)`
    );
  }

  /** True when every live row of `tables` has its day's partition (as far as the guard knows). */
  covers(tables: readonly TableRows[], rejected: ReadonlyMap<number, string>): boolean {
    return tables.every((t) => {
      const known = this.known?.get(t.table);
      for (let r = 0; r < t.length; r++) {
        if (!rejected.has(t.eventIndex[r] as number) && !known?.has(dayOf(t.timeUs[r] as number))) return false;
      }
      return true;
    });
  }

  /** First and last days (inclusive) for which a partition may be created at `now`. */
  private windowAt(now: number): { first: number; last: number; firstEvents: number } {
    // Maintenance drops a partition once its end is at or before now - retention.
    const firstDay = (retentionDays: number) => Math.floor((now - retentionDays * DAY_MS) / DAY_MS);
    return {
      first: firstDay(this.params.pg_points_retention_days),
      firstEvents: firstDay(this.params.pg_events_retention_days),
      last: Math.floor((now + this.maxFutureMs) / DAY_MS),
    };
  }
}

/** The days each table receives rows for (times that are not finite numbers are the planner's to reject). */
function daysOf(events: readonly TelemetryEvent[]): Map<PartitionedTable, Set<number>> {
  const days = new Map<PartitionedTable, Set<number>>();
  let lastTable: PartitionedTable | undefined;
  let lastDay = Number.NaN;
  for (const e of events) {
    let table: PartitionedTable;
    if (e.kind === 'metric') table = e.type === 'histogram' ? 'metrics_histogram' : 'metrics_points';
    else if (e.kind === 'event') table = 'events_generic';
    else continue;
    if (typeof e.time_us !== 'number' || !Number.isFinite(e.time_us)) continue;
    const day = dayOf(e.time_us);
    if (day === lastDay && table === lastTable) continue;
    lastDay = day;
    lastTable = table;
    let set = days.get(table);
    if (!set) days.set(table, (set = new Set()));
    set.add(day);
  }
  return days;
}
