/**
 * The bare scripts' OTLP side (bench/agent-ceiling.ts, bench/otlp-clickhouse.ts): an OTLP/HTTP
 * traces request decoded with the OpenTelemetry project's own protobufjs code
 * (@opentelemetry/otlp-transformer), and the rows the clickhouse sink writes for its spans, with the
 * otlp_http source's mapping: resource attributes but `service.name` as `resource.*`, the scope as
 * `scope.name` / `scope.version`, the kind as `span.kind`, values as text, times in microseconds
 * (src/plugins/sources/otlp_http/README.md).
 */
import { createRequire } from 'node:module';

interface PbAnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: { low: number; high: number; toString(): string } | number | null;
  doubleValue?: number | null;
}
interface PbKeyValue {
  key: string;
  value?: PbAnyValue | null;
}
interface PbLong {
  low: number;
  high: number;
}
interface PbSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId?: Uint8Array | null;
  name: string;
  kind: number;
  startTimeUnixNano: PbLong;
  endTimeUnixNano: PbLong;
  attributes: PbKeyValue[];
  events: Array<{ timeUnixNano: PbLong; name: string; attributes: PbKeyValue[] }>;
  status?: { code?: number; message?: string } | null;
}
export interface PbRequest {
  resourceSpans: Array<{
    resource?: { attributes: PbKeyValue[] } | null;
    scopeSpans: Array<{ scope?: { name?: string; version?: string } | null; spans: PbSpan[] }>;
  }>;
}

export const SPAN_COLUMNS = [
  'start_time',
  'end_time',
  'duration_ns',
  'trace_id',
  'span_id',
  'parent_span_id',
  'service',
  'name',
  'status_code',
  'status_message',
  'attr',
];
export const SPAN_EVENT_COLUMNS = ['ts', 'trace_id', 'span_id', 'name', 'attr'];
const SPAN_KINDS = ['', 'internal', 'server', 'client', 'producer', 'consumer'];

function anyText(v: PbAnyValue | null | undefined): string {
  if (!v) return '';
  if (v.stringValue != null) return v.stringValue;
  if (v.intValue != null) return typeof v.intValue === 'number' || v.intValue.high !== 0 ? v.intValue.toString() : String(v.intValue.low >>> 0); // Long.toString costs ~2 µs
  if (v.boolValue != null) return v.boolValue ? 'true' : 'false';
  if (v.doubleValue != null) return String(v.doubleValue);
  return '';
}

/** fixed64 nanoseconds (a Long) as whole microseconds and the nanoseconds left, exactly. */
function micros(t: PbLong): [number, number] {
  // high * 2^32 = high * 4294967 * 1000 + high * 296
  const rest = t.high * 296 + (t.low >>> 0);
  return [t.high * 4294967 + Math.floor(rest / 1000), rest % 1000];
}

/** A `spans` row, in SPAN_COLUMNS' order. */
export type SpanRow = [
  startUs: number,
  endUs: number,
  durationNs: number,
  traceId: string,
  spanId: string,
  parentSpanId: string,
  service: string,
  name: string,
  statusCode: string,
  statusMessage: string,
  attr: Record<string, string>,
];
/** A `span_events` row, in SPAN_EVENT_COLUMNS' order. */
export type SpanEventRow = [tsUs: number, traceId: string, spanId: string, name: string, attr: Record<string, string>];

/** `ExportTraceServiceRequest.decode` of the OpenTelemetry JS exporters' generated protobufjs code. */
export function traceRequestDecoder(): (body: Uint8Array) => PbRequest {
  const root = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
    opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: { decode(b: Uint8Array): unknown } } } } } };
  };
  const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
  return (body) => Request.decode(body) as PbRequest;
}

const hex = (b: Uint8Array | null | undefined) => (b && b.length > 0 ? Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex') : '');
const NO_EVENTS: SpanEventRow[] = [];

/** Calls `onSpan` with each span's row and its events' rows, in the request's order. */
export function forEachSpan(req: PbRequest, onSpan: (span: SpanRow, events: SpanEventRow[]) => void): void {
  for (const rs of req.resourceSpans) {
    const resource: Record<string, string> = {};
    for (const kv of rs.resource?.attributes ?? []) resource[kv.key] = anyText(kv.value);
    const service = resource['service.name'] ?? '';
    for (const ss of rs.scopeSpans) {
      const inherited: Record<string, string> = {};
      if (ss.scope?.name) inherited['scope.name'] = ss.scope.name;
      if (ss.scope?.version) inherited['scope.version'] = ss.scope.version;
      for (const k in resource) if (k !== 'service.name') inherited[`resource.${k}`] = resource[k] as string;
      for (const s of ss.spans) {
        // Not `{ ...inherited }`: adding keys to a spread copy measured 50 µs a span here (V8), Object.assign 0.6.
        const attr: Record<string, string> = Object.assign({}, inherited);
        for (const kv of s.attributes) attr[kv.key] = anyText(kv.value);
        if (s.kind > 0 && s.kind < SPAN_KINDS.length) attr['span.kind'] = SPAN_KINDS[s.kind] as string;
        const traceId = hex(s.traceId);
        const spanId = hex(s.spanId);
        const [startUs, startNs] = micros(s.startTimeUnixNano);
        const [endUs, endNs] = micros(s.endTimeUnixNano);
        const duration = (endUs - startUs) * 1000 + (endNs - startNs);
        const code = s.status?.code ?? 0;
        const events =
          s.events.length === 0
            ? NO_EVENTS
            : s.events.map((e): SpanEventRow => {
                const attrs: Record<string, string> = {};
                for (const kv of e.attributes) attrs[kv.key] = anyText(kv.value);
                return [micros(e.timeUnixNano)[0], traceId, spanId, e.name, attrs];
              });
        onSpan(
          [
            startUs,
            endUs,
            duration > 0 ? duration : 0,
            traceId,
            spanId,
            hex(s.parentSpanId),
            service,
            s.name,
            code === 2 ? 'ERROR' : code === 1 ? 'OK' : 'UNSET',
            s.status?.message ?? '',
            attr,
          ],
          events,
        );
      }
    }
  }
}
