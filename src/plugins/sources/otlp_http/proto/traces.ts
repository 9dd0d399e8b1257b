import { runAtOnce, type Labels, type Sliced, type SpanEventEntry } from '../../../../index.js';
import { unlimited, type ItemLimits } from '../item-limits.js';
import { inheritedLabels, newDecoded, newSpanFields, pushSpan, resourceInfo, type Decoded, type ResourceInfo, type ScopeInfo } from '../mapping.js';
import { attribute, prescan, resource, scope } from './common.js';
import { I64, LEN, VARINT, createReader, enter, hex, leave, nsRest, skip, str, tag, timeUs, type Reader } from './wire.js';

/*
 * opentelemetry/proto/collector/trace/v1/trace_service.proto and trace/v1/trace.proto
 * (opentelemetry-proto v1.x). Spans are built straight from the wire: no message objects.
 */

// ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
const REQUEST_RESOURCE_SPANS = tag(1, LEN);
// ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
const RS_RESOURCE = tag(1, LEN);
const RS_SCOPE_SPANS = tag(2, LEN);
// ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
const SS_SCOPE = tag(1, LEN);
const SS_SPANS = tag(2, LEN);
// Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4;
//   fixed32 flags = 16; string name = 5; SpanKind kind = 6; fixed64 start_time_unix_nano = 7;
//   fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10;
//   repeated Event events = 11; uint32 dropped_events_count = 12; repeated Link links = 13;
//   uint32 dropped_links_count = 14; Status status = 15; }
const SPAN_TRACE_ID = tag(1, LEN);
const SPAN_SPAN_ID = tag(2, LEN);
const SPAN_TRACE_STATE = tag(3, LEN);
const SPAN_PARENT_SPAN_ID = tag(4, LEN);
const SPAN_NAME = tag(5, LEN);
const SPAN_KIND = tag(6, VARINT);
const SPAN_START = tag(7, I64);
const SPAN_END = tag(8, I64);
const SPAN_ATTRIBUTES = tag(9, LEN);
const SPAN_EVENTS = tag(11, LEN);
const SPAN_LINKS = tag(13, LEN);
const SPAN_STATUS = tag(15, LEN);
// Span.Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
const EVENT_TIME = tag(1, I64);
const EVENT_NAME = tag(2, LEN);
const EVENT_ATTRIBUTES = tag(3, LEN);
// Span.Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4;
//   uint32 dropped_attributes_count = 5; fixed32 flags = 6; }
const LINK_TRACE_ID = tag(1, LEN);
const LINK_SPAN_ID = tag(2, LEN);
const LINK_TRACE_STATE = tag(3, LEN);
const LINK_ATTRIBUTES = tag(4, LEN);
// Status { reserved 1; string message = 2; StatusCode code = 3; }
const STATUS_MESSAGE = tag(2, LEN);
const STATUS_CODE = tag(3, VARINT);

/** Decode an `ExportTraceServiceRequest` body into span events. Throws on a malformed body. */
export function decodeTracesProto(body: Buffer, lim: ItemLimits = unlimited()): Decoded {
  return runAtOnce(tracesProto(body, lim));
}

/** The same, yielding between spans so that the receiver can decode in slices. */
export function* tracesProto(body: Buffer, lim: ItemLimits): Sliced<Decoded> {
  const out = newDecoded();
  const r = createReader(body);
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === REQUEST_RESOURCE_SPANS) yield* resourceSpans(r, out, lim);
    else skip(r, t);
  }
  return out;
}

function* resourceSpans(r: Reader, out: Decoded, lim: ItemLimits): Sliced<void> {
  const outer = enter(r);
  const attrs: Labels = {};
  prescan(r, RS_RESOURCE, (r) => resource(r, attrs, lim));
  const res = resourceInfo(attrs);
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === RS_SCOPE_SPANS) yield* scopeSpans(r, res, out, lim);
    else skip(r, t);
  }
  leave(r, outer);
}

function* scopeSpans(r: Reader, res: ResourceInfo, out: Decoded, lim: ItemLimits): Sliced<void> {
  const outer = enter(r);
  const sc: ScopeInfo = { name: '', version: '', attrs: {} };
  prescan(r, SS_SCOPE, (r) => scope(r, sc, lim));
  const inherited = inheritedLabels(res, sc, false);
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === SS_SPANS) {
      span(r, res.service, inherited, out, lim);
      if (lim.item()) yield;
    } else skip(r, t);
  }
  leave(r, outer);
}

function span(r: Reader, service: string, inherited: Labels, out: Decoded, lim: ItemLimits): void {
  const outer = enter(r);
  const f = newSpanFields(service, Object.assign({}, inherited));
  let attrs = 0;
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case SPAN_TRACE_ID:
        f.traceId = hex(r);
        break;
      case SPAN_SPAN_ID:
        f.spanId = hex(r);
        break;
      case SPAN_TRACE_STATE:
        f.traceState = str(r);
        break;
      case SPAN_PARENT_SPAN_ID:
        f.parentSpanId = hex(r);
        break;
      case SPAN_NAME:
        f.name = str(r);
        break;
      case SPAN_KIND:
        f.kind = r.int32();
        break;
      case SPAN_START:
        f.startUs = timeUs(r);
        f.startRestNs = nsRest.value;
        break;
      case SPAN_END:
        f.endUs = timeUs(r);
        f.endRestNs = nsRest.value;
        break;
      case SPAN_ATTRIBUTES:
        attrs = attribute(r, f.attr, attrs, lim);
        break;
      case SPAN_EVENTS:
        f.events.push(spanEvent(r, lim));
        break;
      case SPAN_LINKS:
        (f.links ??= []).push(link(r, lim));
        break;
      case SPAN_STATUS: {
        const o = enter(r);
        while (r.pos < r.len) {
          const s = r.uint32();
          if (s === STATUS_CODE) f.statusCode = r.int32();
          else if (s === STATUS_MESSAGE) f.statusMessage = str(r);
          else skip(r, s);
        }
        leave(r, o);
        break;
      }
      default:
        skip(r, t);
    }
  }
  leave(r, outer);
  pushSpan(out, f);
}

function spanEvent(r: Reader, lim: ItemLimits): SpanEventEntry {
  const outer = enter(r);
  let attrs = 0;
  let time = 0;
  let name = '';
  const attr: Labels = {};
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === EVENT_TIME) time = timeUs(r);
    else if (t === EVENT_NAME) name = str(r);
    else if (t === EVENT_ATTRIBUTES) attrs = attribute(r, attr, attrs, lim);
    else skip(r, t);
  }
  leave(r, outer);
  return { time_us: time, name, attr };
}

function link(r: Reader, lim: ItemLimits): Record<string, unknown> {
  const outer = enter(r);
  let attrs = 0;
  const l: { trace_id: string; span_id: string; trace_state?: string; attributes?: Labels } = { trace_id: '', span_id: '' };
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === LINK_TRACE_ID) l.trace_id = hex(r);
    else if (t === LINK_SPAN_ID) l.span_id = hex(r);
    else if (t === LINK_TRACE_STATE) l.trace_state = str(r);
    else if (t === LINK_ATTRIBUTES) attrs = attribute(r, (l.attributes ??= {}), attrs, lim);
    else skip(r, t);
  }
  leave(r, outer);
  return l;
}
