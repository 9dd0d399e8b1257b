import { CopyBuffer } from './copy-buffer.js';

/**
 * The rows of one delivery for one table, in columns (parallel arrays), with the index of the
 * event each row came from so that a rejected row can be named to the runtime. The COPY column
 * lists leave out what the server fills: `events_generic.id` (uuid_generate_v4()).
 */
export abstract class TableRows {
  abstract readonly table: 'metrics_points' | 'metrics_histogram' | 'events_generic';
  abstract readonly copySql: string;
  readonly eventIndex: number[] = [];
  /** Microseconds since the Unix epoch, whole. */
  readonly timeUs: number[] = [];

  get length(): number {
    return this.eventIndex.length;
  }

  /** Appends row `row` to `out` as one binary COPY tuple. */
  abstract encodeRow(out: CopyBuffer, row: number): void;

  /** The binary COPY data of `rows` (row numbers of this table), in chunks, encoded as they are pulled. */
  *encode(rows: readonly number[]): Generator<Buffer> {
    const out = new CopyBuffer();
    for (const row of rows) {
      this.encodeRow(out, row);
      if (out.hasChunks) yield* out.takeChunks();
    }
    yield* out.finish();
  }
}

/** Rows that reference `metric_series`: the key is resolved to `seriesId` before the COPY. */
export abstract class SeriesRows extends TableRows {
  /** See `seriesKey` in series.ts; a new series is inserted as what its key names (`seriesJson`). */
  readonly seriesKey: string[] = [];
  readonly seriesId: number[] = [];
  /** Rows before this one have their `seriesId` (or were rejected). */
  resolved = 0;

  protected addSeries(eventIndex: number, timeUs: number, key: string): void {
    this.eventIndex.push(eventIndex);
    this.timeUs.push(timeUs);
    this.seriesKey.push(key);
    this.seriesId.push(0);
  }
}

export class PointRows extends SeriesRows {
  readonly table = 'metrics_points';
  readonly copySql = 'COPY metrics_points (time, series_id, value) FROM STDIN (FORMAT binary)';
  readonly value: number[] = [];

  add(eventIndex: number, timeUs: number, key: string, value: number): void {
    this.addSeries(eventIndex, timeUs, key);
    this.value.push(value);
  }

  encodeRow(out: CopyBuffer, row: number): void {
    out.tuple(3);
    out.timestamp(this.timeUs[row] as number);
    out.int64(this.seriesId[row] as number);
    out.float8(this.value[row] as number);
  }
}

export class HistogramRows extends SeriesRows {
  readonly table = 'metrics_histogram';
  readonly copySql = 'COPY metrics_histogram (time, series_id, count, sum, buckets) FROM STDIN (FORMAT binary)';
  readonly count: number[] = [];
  readonly sum: number[] = [];
  /** JSON text, already cleaned. */
  readonly buckets: string[] = [];

  add(eventIndex: number, timeUs: number, key: string, count: number, sum: number, buckets: string): void {
    this.addSeries(eventIndex, timeUs, key);
    this.count.push(count);
    this.sum.push(sum);
    this.buckets.push(buckets);
  }

  encodeRow(out: CopyBuffer, row: number): void {
    out.tuple(5);
    out.timestamp(this.timeUs[row] as number);
    out.int64(this.seriesId[row] as number);
    out.int64(this.count[row] as number);
    out.float8(this.sum[row] as number);
    out.jsonb(this.buckets[row] as string);
  }
}

export class EventRows extends TableRows {
  readonly table = 'events_generic';
  // The id comes from the event (given or derived, docs/events.md#exactly-once); a trigger skips
  // an id already stored (migrations/pg/0010_events_generic_dedupe.sql).
  readonly copySql = 'COPY events_generic (id, ts, type, service, severity, payload) FROM STDIN (FORMAT binary)';
  readonly id: string[] = [];
  readonly type: string[] = [];
  readonly service: string[] = [];
  readonly severity: string[] = [];
  /** JSON text, already cleaned; undefined for a missing payload (SQL NULL). */
  readonly payload: Array<string | undefined> = [];

  add(eventIndex: number, id: string, timeUs: number, type: string, service: string, severity: string, payload: string | undefined): void {
    this.eventIndex.push(eventIndex);
    this.id.push(id);
    this.timeUs.push(timeUs);
    this.type.push(type);
    this.service.push(service);
    this.severity.push(severity);
    this.payload.push(payload);
  }

  encodeRow(out: CopyBuffer, row: number): void {
    out.tuple(6);
    out.uuid(this.id[row] as string);
    out.timestamp(this.timeUs[row] as number);
    out.text(this.type[row] as string);
    out.text(this.service[row] as string);
    out.text(this.severity[row] as string);
    const payload = this.payload[row];
    if (payload === undefined) out.null();
    else out.jsonb(payload);
  }
}
