import type { SpanEvent } from '../../../../index.js';
import { Grouping, resource, scope, splitOrigin } from './scopes.js';
import { attributes, fixed64Nanos, hexBytes, newWriter, string, tagLen, tagVarint } from './wire.js';

/** The value of our `span.kind` attribute → `Span.SpanKind` (trace.proto). */
const KINDS: Record<string, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS: Record<SpanEvent['status_code'], number> = { UNSET: 0, OK: 1, ERROR: 2 };

/** `ExportTraceServiceRequest { resource_spans = 1 }` for the given spans. */
export function encodeTraces(spans: readonly SpanEvent[]): Uint8Array {
  const groups = new Grouping<{ span: SpanEvent; attrs: Record<string, string>; kind: number }>();
  for (const span of spans) {
    const origin = splitOrigin(span.attr, { 'service.name': span.service });
    const { 'span.kind': kind = '', ...attrs } = origin.own;
    groups.add(origin, { span, attrs, kind: KINDS[kind] ?? 0 });
  }
  const w = newWriter();
  for (const r of groups.resources.values()) {
    w.uint32(tagLen(1)).fork(); // ResourceSpans
    resource(w, 1, r.resource);
    for (const s of r.scopes.values()) {
      w.uint32(tagLen(2)).fork(); // ScopeSpans
      scope(w, 1, s.origin);
      for (const { span, attrs, kind } of s.items) {
        w.uint32(tagLen(2)).fork(); // Span
        hexBytes(w, 1, span.trace_id, 32);
        hexBytes(w, 2, span.span_id, 16);
        hexBytes(w, 4, span.parent_span_id, 16);
        string(w, 5, span.name);
        if (kind !== 0) w.uint32(tagVarint(6)).int32(kind);
        fixed64Nanos(w, 7, span.start_us);
        fixed64Nanos(w, 8, span.end_us);
        attributes(w, 9, attrs);
        for (const e of span.events) {
          w.uint32(tagLen(11)).fork(); // Span.Event
          fixed64Nanos(w, 1, e.time_us);
          string(w, 2, e.name);
          attributes(w, 3, e.attr);
          w.ldelim();
        }
        if (span.status_code !== 'UNSET' || span.status_message !== '') {
          w.uint32(tagLen(15)).fork(); // Status { message = 2; code = 3 }
          string(w, 2, span.status_message);
          if (STATUS[span.status_code] !== 0) w.uint32(tagVarint(3)).int32(STATUS[span.status_code]);
          w.ldelim();
        }
        w.ldelim();
      }
      w.ldelim();
    }
    w.ldelim();
  }
  return w.finish();
}
