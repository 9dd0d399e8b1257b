/**
 * Rows as ClickHouse input text. The format is JSONCompactEachRow (one JSON array per line, in the
 * column order of tables.ts), chosen by measurement (bench/clickhouse-sink.ts, README "Insert
 * format"): the binary formats (RowBinary, Native) cannot go through the embedded engine's
 * connection, which turns insert bodies into UTF-8 text, and `@clickhouse/client` 1.23 only encodes
 * JSON, CSV/TSV-family and Parquet for `insert()`.
 *
 * Values are written as they are, without checks on the hot path: a value ClickHouse cannot store
 * (a negative duration for a UInt64, a NaN time) makes it reject the row with its own message, and
 * the row is isolated (isolate.ts). Events are read-only: decoded batches share strings and label
 * objects (docs/ARCHITECTURE.md), so nothing here writes to them.
 */
import type { BusinessEvent, LogEvent, MetricEvent, SpanEvent, SpanEventEntry } from '../../../index.js';
import type { TableSchema } from './schema.js';

export const INSERT_FORMAT = 'JSONCompactEachRow';

/** The rows for one table: one body, and where each row starts in it. */
export interface Rows {
  readonly body: string;
  /** `offsets[i]` is where row i starts; `offsets[rows]` is `body.length`. */
  readonly offsets: readonly number[];
  /** For each row, the index of the event it came from in the delivery. */
  readonly sources: readonly number[];
}

export class RowsBuilder {
  private readonly lines: string[] = [];
  private readonly offsets: number[] = [0];
  private readonly sources: number[] = [];
  private length = 0;

  add(line: string, source: number): void {
    this.lines.push(line);
    this.length += line.length;
    this.offsets.push(this.length);
    this.sources.push(source);
  }

  /** One join: far cheaper than growing a string row by row (measured 2-3x on 100k rows). */
  build(): Rows {
    return { body: this.lines.join(''), offsets: this.offsets, sources: this.sources };
  }
}

/** Rows `[lo, hi)` of `rows` as one insert body. */
export function rowRange(rows: Rows, lo: number, hi: number): string {
  return rows.body.slice(rows.offsets[lo], rows.offsets[hi]);
}

/** The rows of `rows` whose source is not in `skip`, in order (spans whose own row was rejected). */
export function withoutSources(rows: Rows, skip: ReadonlySet<number>): Rows {
  const out = new RowsBuilder();
  for (let i = 0; i < rows.sources.length; i++) {
    const source = rows.sources[i] as number;
    if (!skip.has(source)) out.add(rowRange(rows, i, i + 1), source);
  }
  return out.build();
}

const str = JSON.stringify;

/**
 * ClickHouse reads `nan`, `inf` and `-inf` for Float64, but JSON has no literal for them and
 * JSON.stringify would write `null` (stored as 0): Prometheus gauges are NaN often enough to matter.
 */
function float(v: number): string {
  if (Number.isFinite(v)) return `${v}`;
  if (Number.isNaN(v)) return '"nan"';
  return v > 0 ? '"inf"' : '"-inf"';
}

/*
 * Each row is `[<numbers>,` followed by one JSON.stringify of the remaining values, minus its `[`:
 * a single native call per row is what makes encoding about as fast as the bare client's
 * JSON.stringify of a whole row (bench/clickhouse-sink.ts), against 2-3x slower with one call per
 * field. The numbers are written as text in front so that a NaN reaches ClickHouse as `NaN`, which
 * it rejects, where JSON.stringify would write `null`, which it would store as 0. Strings that are
 * missing in a malformed event become `null` there, stored as ''.
 */

export function logRow(e: LogEvent, s: TableSchema): string {
  return `[${s.time(e.time_us)},${str([e.service, e.host, e.level, e.trace_id, e.span_id, e.message, e.labels]).slice(1)}\n`;
}

export function spanRow(e: SpanEvent, s: TableSchema): string {
  return `[${s.time(e.start_us)},${s.endTime(e.end_us)},${e.duration_ns},${str([e.trace_id, e.span_id, e.parent_span_id, e.service, e.name, e.status_code, e.status_message, e.attr]).slice(1)}\n`;
}

export function spanEventRow(span: SpanEvent, entry: SpanEventEntry, s: TableSchema): string {
  return `[${s.time(entry.time_us)},${str([span.trace_id, span.span_id, entry.name, entry.attr]).slice(1)}\n`;
}

/** Points carry `value`; histograms carry `count`, `sum` and `buckets` and a `value` of 0. */
export function metricRow(e: MetricEvent, s: TableSchema): string {
  if (e.type === 'histogram') {
    const h = e.histogram;
    return `[${s.time(e.time_us)},0,${h.count},${float(h.sum)},${str([e.name, e.type, e.labels, h.buckets]).slice(1)}\n`;
  }
  return `[${s.time(e.time_us)},${float(e.value)},0,0,${str([e.name, e.type, e.labels, {}]).slice(1)}\n`;
}

/** The payload is stored as JSON text in a String column. */
export function businessEventRow(e: BusinessEvent, s: TableSchema): string {
  return `[${s.time(e.time_us)},${str([e.type, e.service, e.severity, str(e.payload)]).slice(1)}\n`;
}
