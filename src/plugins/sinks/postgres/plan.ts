import { BatchCursor, BatchField, BatchLabels, decodeBatch, type EncodedBatch, eventId, type TelemetryEvent } from '../../../index.js';
import type { TextCleaner } from './clean.js';
import { CursorSeriesKey } from './cursor-key.js';
import { fitsInt64, PG_EPOCH_US } from './copy-buffer.js';
import type { DeliveryEvents } from './events.js';
import { NO_PARTITION_YET, type PartitionGuard } from './partitions.js';
import { seriesKey } from './series.js';
import { EventRows, HistogramRows, PointRows, type TableRows } from './tables.js';
import type { Row } from './typed-tables.js';

/**
 * One delivery sorted into its tables: gauge, counter and summary points to
 * `metrics_points`, histograms to `metrics_histogram`, business events to `events_generic`.
 * What cannot be stored is rejected here, with a reason, so the runtime dead-letters it: logs and
 * spans (they belong in ClickHouse; dropping them silently would lose data a misrouted pipeline
 * sends here), values no column can hold, and on plain PostgreSQL rows outside the partition
 * window. These depend only on the events (and the clock), so a replayed delivery gets them again.
 */
export interface Plan {
  readonly points: PointRows;
  readonly histograms: HistogramRows;
  readonly events: EventRows;
  /** Event index -> reason. Later stages (series, the server) add to it. */
  readonly rejected: Map<number, string>;
}

export function tablesOf(plan: Plan): TableRows[] {
  return [plan.points, plan.histograms, plan.events];
}

/** The table an event goes to, if any. */
export function tableOf(e: TelemetryEvent): TableRows['table'] | undefined {
  if (e.kind === 'metric') return e.type === 'histogram' ? 'metrics_histogram' : 'metrics_points';
  return e.kind === 'event' ? 'events_generic' : undefined;
}

const KIND_ADVICE = 'the postgres sink stores metrics and business events; route logs and spans to a clickhouse sink';

/** A whole number of microseconds the binary timestamp can carry, or a reason it cannot. */
function checkTime(timeUs: unknown): number | string {
  if (typeof timeUs !== 'number' || !Number.isFinite(timeUs)) return `time_us ${String(timeUs)} is not a finite number`;
  const t = Math.round(timeUs);
  return fitsInt64(t - PG_EPOCH_US) ? t : `time_us ${timeUs} is outside the range of a PostgreSQL timestamp`;
}

/** How a rejection names the row: built only for a rejected one. */
function describe(row: TelemetryEvent | BatchCursor): string {
  if (row instanceof BatchCursor) return `metric "${row.text(BatchField.metricName)}"`;
  return row.kind === 'event' ? `event "${row.type}"` : `metric "${(row as { name?: unknown }).name}"`;
}

function invalid(what: string): string {
  return `TC_PG_SINK_INVALID_VALUE: ${what}`;
}

/**
 * Plans a delivery incrementally, so that planning the next events overlaps the server's work on
 * the COPY of the previous ones (see delivery.ts).
 */
export class Planner {
  readonly plan: Plan = { points: new PointRows(), histograms: new HistogramRows(), events: new EventRows(), rejected: new Map() };
  private next = 0;
  // Consecutive events of one series often share the label object (the batch codec decodes
  // repeats to the same object): skip rebuilding the key then.
  private lastLabels: object | undefined;
  private lastName: string | undefined;
  private lastKey = '';
  /** Queued batches: the index of the batch read now. */
  private batch = -1;
  private cursor: BatchCursor | undefined;
  /** The events of the batch read now, decoded for the rows that are not points. */
  private batchEvents: TelemetryEvent[] | undefined;
  private readonly cursorKey = new CursorSeriesKey();
  // The cursor keeps a repeated name's range and a repeated label set's `gen`: same series.
  private lastGen = -1;
  private lastNameStart = -1;
  private lastCursorKey = '';
  /** A row's day is inside the partition window but has no partition yet (plain PostgreSQL). */
  partitionMissing = false;
  /**
   * The business events planned so far, with their indexes: what the typed tables take
   * (typed-tables.ts), so that a delivery of points is never decoded for them.
   */
  readonly business: Row[] = [];

  constructor(
    private readonly events: DeliveryEvents,
    private readonly cleaner: TextCleaner,
    /** Plain PostgreSQL: rows whose day has no partition are rejected with the guard's reason. */
    private readonly partitions?: PartitionGuard,
    /** False for event types whose schema keeps them out of `events_generic` (typed table only). */
    private readonly generic?: (type: string) => boolean,
  ) {}

  get done(): boolean {
    return this.next >= this.events.length;
  }

  /** Events planned so far. */
  get planned(): number {
    return this.next;
  }

  /** Plans events up to index `end` (exclusive). */
  planUntil(end: number): void {
    const stop = Math.min(end, this.events.length);
    if (this.events.batches) this.planQueued(this.events.batches, stop);
    else {
      const events = this.events.all();
      for (let i = this.next; i < stop; i++) this.planEvent(i, events[i] as TelemetryEvent);
    }
    this.next = Math.max(this.next, stop);
  }

  /**
   * Queued batches, read in place: a point becomes a row without an event object; the other rows
   * (histograms, business events, rejections) come from the batch decoded, which only batches
   * holding them pay for (docs/performance.md#the-postgres-sink).
   */
  private planQueued(batches: readonly EncodedBatch[], stop: number): void {
    for (let i = this.next; i < stop; i++) {
      let c = this.cursor;
      while (c === undefined || c.index + 1 >= c.count) c = this.open(batches);
      c.next();
      if (c.kind === 'metric' && c.metricType !== 'histogram') this.planPoint(i, c);
      else this.planEvent(i, (this.batchEvents ??= decodeBatch((batches[this.batch] as EncodedBatch).data))[c.index] as TelemetryEvent);
    }
  }

  private open(batches: readonly EncodedBatch[]): BatchCursor {
    const batch = batches[++this.batch];
    if (batch === undefined) throw new RangeError('the delivery holds fewer events than its batches count');
    this.cursor = new BatchCursor(batch.data);
    this.batchEvents = undefined;
    this.cursorKey.reset();
    this.lastGen = -1;
    this.lastNameStart = -1;
    return this.cursor;
  }

  /** A gauge, counter or summary at the cursor: a metrics_points row. */
  private planPoint(i: number, c: BatchCursor): void {
    const time = this.checkRowTime(i, 'metrics_points', c, c.time_us);
    if (time === undefined) return;
    const gen = c.labels(BatchLabels.metric).gen;
    const nameStart = c.starts[BatchField.metricName] as number;
    if (gen !== this.lastGen || nameStart !== this.lastNameStart) {
      this.lastCursorKey = this.cursorKey.of(c);
      this.lastGen = gen;
      this.lastNameStart = nameStart;
    }
    this.plan.points.add(i, time, this.lastCursorKey, c.value);
  }

  private planEvent(i: number, e: TelemetryEvent): void {
    const { plan, cleaner } = this;
    switch (e.kind) {
      case 'metric': {
        const time = this.checkRowTime(i, e.type === 'histogram' ? 'metrics_histogram' : 'metrics_points', e, e.time_us);
        if (time === undefined) return;
        if (e.labels !== this.lastLabels || e.name !== this.lastName) {
          this.lastKey = seriesKey(e.name, e.labels);
          this.lastLabels = e.labels;
          this.lastName = e.name;
        }
        if (e.type === 'histogram') {
          const h = e.histogram;
          if (!fitsInt64(h.count)) {
            plan.rejected.set(i, invalid(`histogram "${e.name}": count ${h.count} is not a whole number a BIGINT column can hold`));
            return;
          }
          plan.histograms.add(i, time, this.lastKey, h.count, h.sum, cleaner.json(JSON.stringify(h.buckets)));
        } else if (typeof e.value === 'number') {
          plan.points.add(i, time, this.lastKey, e.value);
        } else {
          plan.rejected.set(i, invalid(`metric "${e.name}": value ${String(e.value)} is not a number`));
        }
        return;
      }
      case 'event': {
        this.business.push({ index: i, event: e });
        if (this.generic?.(e.type) === false) return;
        const time = this.checkRowTime(i, 'events_generic', e, e.time_us);
        if (time === undefined) return;
        let payload: string | undefined;
        try {
          payload = JSON.stringify(e.payload) as string | undefined;
        } catch (err) {
          plan.rejected.set(i, invalid(`event "${e.type}": payload is not JSON (${(err as Error).message})`));
          return;
        }
        plan.events.add(
          i,
          eventId(e.id, e),
          time,
          cleaner.text(String(e.type)),
          cleaner.text(String(e.service ?? '')),
          cleaner.text(String(e.severity ?? '')),
          payload === undefined ? undefined : cleaner.json(payload),
        );
        return;
      }
      case 'log':
      case 'span':
        plan.rejected.set(i, `TC_PG_SINK_UNSUPPORTED_KIND: a ${e.kind} event was routed to this sink: ${KIND_ADVICE}`);
        return;
      default:
        plan.rejected.set(i, `TC_PG_SINK_UNSUPPORTED_KIND: unknown event kind ${JSON.stringify((e as { kind?: unknown }).kind)}: ${KIND_ADVICE}`);
    }
  }

  planAll(): Plan {
    this.planUntil(this.events.length);
    return this.plan;
  }

  /** The row's time, or undefined after rejecting it (not a usable number, or no partition for its day). */
  private checkRowTime(index: number, table: TableRows['table'], row: TelemetryEvent | BatchCursor, timeUs: number): number | undefined {
    const time = checkTime(timeUs);
    if (typeof time === 'string') {
      this.plan.rejected.set(index, invalid(`${describe(row)}: ${time}`));
      return undefined;
    }
    const outside = this.partitions?.refusal(table, time);
    if (outside === NO_PARTITION_YET) {
      // Written anyway if the delivery goes on: the server then decides (see Delivery).
      this.partitionMissing = true;
      return time;
    }
    if (outside !== undefined) {
      this.plan.rejected.set(index, outside);
      return undefined;
    }
    return time;
  }
}

/** Row numbers of `rows` from `from` on that are not rejected so far. */
export function liveRows(rows: TableRows, rejected: ReadonlyMap<number, string>, from = 0): number[] {
  const live: number[] = [];
  const { eventIndex } = rows;
  if (rejected.size === 0) {
    for (let r = from; r < eventIndex.length; r++) live.push(r);
    return live;
  }
  for (let r = from; r < eventIndex.length; r++) if (!rejected.has(eventIndex[r] as number)) live.push(r);
  return live;
}
