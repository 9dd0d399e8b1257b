import type { Labels, SpanEventEntry, SpanStatusCode, TelemetryEvent } from '../../../index.js';
import { timeProblem } from './storable.js';

/**
 * Mapping rules shared by the protobuf and the JSON decoders (README, "Mapping to events"), so
 * that both encodings of one request produce the very same events.
 */

/** What a decoder hands back: the events, and the items it refused with the first reason. */
export interface Decoded {
  events: TelemetryEvent[];
  rejected: number;
  reason: string;
}

export function newDecoded(): Decoded {
  return { events: [], rejected: 0, reason: '' };
}

export function reject(out: Decoded, reason: string, n = 1): void {
  out.rejected += n;
  if (out.reason === '') out.reason = reason;
}

/**
 * `target[key] = value`, except that a key named `__proto__` (any client may send one) becomes
 * an ordinary own property instead of invoking the prototype setter, which would drop a string
 * value and let an object value replace the prototype.
 */
export function setKey<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Prefixes under which resource and scope data land in span attributes and log labels. */
export const RESOURCE_PREFIX = 'resource.';
export const SCOPE_PREFIX = 'scope.';

/** The resource of a batch: `service.name` and `host.name` become event fields. */
export interface ResourceInfo {
  service: string;
  host: string;
  /** Every resource attribute, stringified, by its own key. */
  attrs: Labels;
}

/** The instrumentation scope of a batch. */
export interface ScopeInfo {
  name: string;
  version: string;
  attrs: Labels;
}

export function resourceInfo(attrs: Labels): ResourceInfo {
  return { service: attrs['service.name'] ?? '', host: attrs['host.name'] ?? '', attrs };
}

/**
 * The labels every span or log of one scope inherits: `scope.name`, `scope.version`, scope
 * attributes as `scope.<key>`, and resource attributes as `resource.<key>`, except those that
 * became event fields (`service.name` always; `host.name` for logs, which have a host field).
 * Built once per scope and cloned into each event.
 */
export function inheritedLabels(resource: ResourceInfo, scope: ScopeInfo, withHostField: boolean): Labels {
  const out: Labels = {};
  for (const k in scope.attrs) out[SCOPE_PREFIX + k] = scope.attrs[k] as string;
  if (scope.name !== '') out['scope.name'] = scope.name;
  if (scope.version !== '') out['scope.version'] = scope.version;
  for (const k in resource.attrs) {
    if (k === 'service.name' || (withHostField && k === 'host.name')) continue;
    out[RESOURCE_PREFIX + k] = resource.attrs[k] as string;
  }
  return out;
}

/** `Span.SpanKind` (trace.proto) → the value of the `span.kind` attribute; 0 (unspecified) adds none. */
export const SPAN_KINDS = ['', 'internal', 'server', 'client', 'producer', 'consumer'];

/** `Status.StatusCode` (trace.proto): 0 unset, 1 ok, 2 error. */
export function statusCode(code: number): SpanStatusCode {
  return code === 2 ? 'ERROR' : code === 1 ? 'OK' : 'UNSET';
}

/** The OTLP/JSON names of the enums, which protobuf JSON parsers also accept. */
export const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
export const STATUS_CODE_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
export const TEMPORALITY_NAMES: Record<string, number> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

/**
 * Log level: the record's `severity_text` lower-cased; without one, the name of the range its
 * `severity_number` falls in (logs data model: 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn,
 * 17-20 error, 21-24 fatal); '' when neither is set.
 */
const SEVERITY_RANGES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
export function level(severityText: string, severityNumber: number): string {
  if (severityText !== '') return severityText.toLowerCase();
  if (severityNumber >= 1 && severityNumber <= 24) return SEVERITY_RANGES[(severityNumber - 1) >> 2] as string;
  return '';
}

/** `SEVERITY_NUMBER_<NAME>` enum names (logs.proto) for OTLP/JSON senders that write names. */
export function severityNumberOf(name: string): number | undefined {
  const m = /^SEVERITY_NUMBER_(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)([234]?)$/.exec(name);
  if (!m) return name === 'SEVERITY_NUMBER_UNSPECIFIED' ? 0 : undefined;
  return SEVERITY_RANGES.indexOf((m[1] as string).toLowerCase()) * 4 + 1 + (m[2] ? Number(m[2]) - 1 : 0);
}

/** An attribute value that is a double, as text: JavaScript's shortest form (`1.5`, `NaN`). */
export const doubleText = (v: number): string => String(v);

/** A double inside an array/map value, as JSON allows it: non-finite numbers become strings. */
export const jsonDouble = (v: number): number | string => (Number.isFinite(v) ? v : String(v));

/** An int64 inside an array/map value: a JSON number while exact, else its decimal text. */
export function jsonInt(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Why a trace id cannot be used, or '' when it is valid (16 bytes, not all zero). */
export function traceIdProblem(id: string): string {
  if (id.length !== 32) return id === '' ? 'missing trace_id' : `trace_id must be 16 bytes (32 hex digits), got ${id.length} hex digits`;
  return id === ZERO_TRACE ? 'trace_id is all zeroes' : '';
}

/** Why a span id cannot be used, or '' when it is valid (8 bytes, not all zero). */
export function spanIdProblem(id: string, field = 'span_id'): string {
  if (id.length !== 16) return id === '' ? `missing ${field}` : `${field} must be 8 bytes (16 hex digits), got ${id.length} hex digits`;
  return id === ZERO_SPAN ? `${field} is all zeroes` : '';
}

/** One span as either decoder read it, before its ids are checked. Times are whole µs plus the ns rest. */
export interface SpanFields {
  service: string;
  name: string;
  /** Ids in hex; undefined when the JSON field was not hex. */
  traceId: string | undefined;
  spanId: string | undefined;
  /** '' or all zeroes when the span is a root. */
  parentSpanId: string | undefined;
  traceState: string;
  /** `Span.SpanKind`. */
  kind: number;
  startUs: number;
  startRestNs: number;
  endUs: number;
  endRestNs: number;
  /** `Status.StatusCode`. */
  statusCode: number;
  statusMessage: string;
  /** The span's attributes on top of the inherited labels; completed here with kind, state and links. */
  attr: Labels;
  events: SpanEventEntry[];
  /** Links, kept as JSON in the `span.links` attribute (the event model has no links column). */
  links: unknown[] | undefined;
}

/** A span with nothing read yet: the protobuf decoder fills it field by field. */
export function newSpanFields(service: string, attr: Labels): SpanFields {
  return {
    service,
    name: '',
    traceId: '',
    spanId: '',
    parentSpanId: '',
    traceState: '',
    kind: 0,
    startUs: 0,
    startRestNs: 0,
    endUs: 0,
    endRestNs: 0,
    statusCode: 0,
    statusMessage: '',
    attr,
    events: [],
    links: undefined,
  };
}

function spanEventsTimeProblem(events: readonly SpanEventEntry[]): string {
  for (const e of events) {
    const problem = timeProblem(e.time_us, `event "${e.name}" time_unix_nano`);
    if (problem !== '') return problem;
  }
  return '';
}

/** Queue the span, or refuse it in partial success when an id or a time cannot be stored. */
export function pushSpan(out: Decoded, s: SpanFields): void {
  const { traceId, spanId } = s;
  const parent = s.parentSpanId === ZERO_SPAN ? '' : s.parentSpanId;
  const problem =
    (traceId === undefined ? 'trace_id is not hex' : traceIdProblem(traceId)) ||
    (spanId === undefined ? 'span_id is not hex' : spanIdProblem(spanId)) ||
    (parent === undefined ? 'parent_span_id is not hex' : parent === '' ? '' : spanIdProblem(parent, 'parent_span_id')) ||
    timeProblem(s.startUs, 'start_time_unix_nano') ||
    timeProblem(s.endUs, 'end_time_unix_nano') ||
    spanEventsTimeProblem(s.events);
  if (problem !== '' || traceId === undefined || spanId === undefined || parent === undefined) return reject(out, `span "${s.name}": ${problem}`);
  const attr = s.attr;
  if (s.kind > 0 && s.kind < SPAN_KINDS.length) attr['span.kind'] = SPAN_KINDS[s.kind] as string;
  if (s.traceState !== '') attr['span.trace_state'] = s.traceState;
  if (s.links !== undefined && s.links.length > 0) attr['span.links'] = JSON.stringify(s.links);
  const durationNs = (s.endUs - s.startUs) * 1000 + (s.endRestNs - s.startRestNs);
  out.events.push({
    kind: 'span',
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: parent,
    service: s.service,
    name: s.name,
    start_us: s.startUs,
    end_us: s.endUs,
    duration_ns: durationNs > 0 ? durationNs : 0,
    status_code: statusCode(s.statusCode),
    status_message: s.statusMessage,
    attr,
    events: s.events,
  });
}
