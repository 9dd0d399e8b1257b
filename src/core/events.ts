/**
 * The event model (docs/ARCHITECTURE.md#events). Four kinds, shaped after the tables they land in.
 * Times are integers in microseconds since the Unix epoch (safe in a JS number and equal to
 * ClickHouse DateTime64(6) ticks); durations are nanoseconds.
 */

/** Flat string map; canonical order is sorted by key (see `canonicalLabels`). */
export type Labels = Record<string, string>;

export interface LogEvent {
  kind: 'log';
  time_us: number;
  service: string;
  host: string;
  level: string;
  /** 32 lower-case hex characters, or '' when the line carries no trace context. */
  trace_id: string;
  /** 16 lower-case hex characters, or ''. */
  span_id: string;
  message: string;
  labels: Labels;
}

export interface HistogramValue {
  count: number;
  sum: number;
  /** Cumulative counts keyed by upper bound as Prometheus writes it (`"0.1"`, `"+Inf"`). */
  buckets: Record<string, number>;
}

interface MetricBase {
  kind: 'metric';
  name: string;
  labels: Labels;
  time_us: number;
}

/** Gauges, counters and summary quantiles (a summary becomes one point per quantile). */
export interface MetricPoint extends MetricBase {
  type: 'gauge' | 'counter' | 'summary';
  value: number;
}

export interface MetricHistogram extends MetricBase {
  type: 'histogram';
  histogram: HistogramValue;
}

export type MetricEvent = MetricPoint | MetricHistogram;
export type MetricType = MetricEvent['type'];

export type SpanStatusCode = 'UNSET' | 'OK' | 'ERROR';

export interface SpanEventEntry {
  time_us: number;
  name: string;
  attr: Labels;
}

export interface SpanEvent {
  kind: 'span';
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  service: string;
  name: string;
  start_us: number;
  end_us: number;
  duration_ns: number;
  status_code: SpanStatusCode;
  status_message: string;
  attr: Labels;
  events: SpanEventEntry[];
}

/** A business event (deploy, incident, release), stored in `events_generic`. */
export interface BusinessEvent {
  kind: 'event';
  time_us: number;
  type: string;
  service: string;
  severity: string;
  payload: Record<string, unknown>;
  /**
   * The event's identity, a UUID: given by the producer (an idempotency key) or derived from the
   * event's content (see `eventId`), so that a replayed or retried event is stored once.
   */
  id?: string;
}

export type TelemetryEvent = LogEvent | MetricEvent | SpanEvent | BusinessEvent;
export type EventKind = TelemetryEvent['kind'];
export const EVENT_KINDS: readonly EventKind[] = ['log', 'metric', 'span', 'event'];

/** The labels-like map of an event: labels for logs and metrics, attributes for spans. */
export function labelsOf(event: TelemetryEvent): Labels | undefined {
  switch (event.kind) {
    case 'log':
    case 'metric':
      return event.labels;
    case 'span':
      return event.attr;
    default:
      return undefined;
  }
}

/** The event's own timestamp in microseconds (a span's start). */
export function timeOf(event: TelemetryEvent): number {
  return event.kind === 'span' ? event.start_us : event.time_us;
}

/** A copy of `labels` with keys in canonical (sorted, code-unit) order. */
export function canonicalLabels(labels: Labels): Labels {
  const keys = Object.keys(labels);
  let sorted = true;
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      sorted = false;
      break;
    }
  }
  if (sorted) return labels;
  keys.sort();
  const out: Labels = {};
  for (const k of keys) out[k] = labels[k] as string;
  return out;
}

/**
 * The canonical JSON text of a label set: keys in code-unit order, as stored in ClickHouse
 * `labels` and used as the series cache key. Written by hand because a JS object always lists
 * integer-like keys ("10", "2") first, whatever order they were inserted in.
 */
export function canonicalLabelsJson(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    out += `${i === 0 ? '' : ','}${JSON.stringify(k)}:${JSON.stringify(labels[k])}`;
  }
  return `${out}}`;
}

export const nowMicros = (): number => Date.now() * 1000;
