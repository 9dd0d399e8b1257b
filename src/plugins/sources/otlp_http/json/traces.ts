import { runAtOnce, type Labels, type Sliced } from '../../../../index.js';
import { unlimited, type ItemLimits } from '../item-limits.js';
import { inheritedLabels, newDecoded, pushSpan, resourceInfo, SPAN_KIND_NAMES, STATUS_CODE_NAMES, type Decoded } from '../mapping.js';
import { attributes, resourceAttributes, scopeInfo } from './common.js';
import { JsonReader, type JsonObject } from './reader.js';

/** Decode an OTLP/JSON `ExportTraceServiceRequest` into span events (same rules as proto/traces.ts). */
export function decodeTracesJson(body: unknown, lim: ItemLimits = unlimited()): Decoded {
  return runAtOnce(tracesJson(body, lim));
}

/** The same, yielding between spans so that the receiver can decode in slices. */
export function* tracesJson(body: unknown, lim: ItemLimits): Sliced<Decoded> {
  const out = newDecoded();
  const j = new JsonReader();
  for (const rs of j.items(j.root(body), 'resourceSpans', 'resource_spans')) {
    const res = resourceInfo(resourceAttributes(j, rs, lim));
    for (const ss of j.items(rs, 'scopeSpans', 'scope_spans')) {
      const inherited = inheritedLabels(res, scopeInfo(j, ss, lim), false);
      for (const s of j.items(ss, 'spans')) {
        span(j, s, res.service, inherited, out, lim);
        if (lim.item()) yield;
      }
    }
  }
  return out;
}

function span(j: JsonReader, s: JsonObject, service: string, inherited: Labels, out: Decoded, lim: ItemLimits): void {
  const startRest = { value: 0 };
  const endRest = { value: 0 };
  const status = j.object(s, 'status', undefined, (st) => ({
    code: j.enumValue(st, 'code', undefined, STATUS_CODE_NAMES),
    message: j.string(st, 'message'),
  }));
  const attr: Labels = Object.assign({}, inherited);
  attributes(j, s, 'attributes', attr, lim);
  pushSpan(out, {
    service,
    name: j.string(s, 'name'),
    traceId: j.hex(s, 'traceId', 'trace_id'),
    spanId: j.hex(s, 'spanId', 'span_id'),
    parentSpanId: j.hex(s, 'parentSpanId', 'parent_span_id'),
    traceState: j.string(s, 'traceState', 'trace_state'),
    kind: j.enumValue(s, 'kind', undefined, SPAN_KIND_NAMES),
    startUs: j.timeUs(s, 'startTimeUnixNano', 'start_time_unix_nano', startRest),
    startRestNs: startRest.value,
    endUs: j.timeUs(s, 'endTimeUnixNano', 'end_time_unix_nano', endRest),
    endRestNs: endRest.value,
    statusCode: status?.code ?? 0,
    statusMessage: status?.message ?? '',
    attr,
    events: j.map(s, 'events', (e) => {
      const eventAttr: Labels = {};
      const time = j.timeUs(e, 'timeUnixNano', 'time_unix_nano');
      const name = j.string(e, 'name');
      attributes(j, e, 'attributes', eventAttr, lim);
      return { time_us: time, name, attr: eventAttr };
    }),
    links: j.map(s, 'links', (l) => {
      const link: { trace_id: string; span_id: string; trace_state?: string; attributes?: Labels } = {
        trace_id: j.hex(l, 'traceId', 'trace_id') ?? '',
        span_id: j.hex(l, 'spanId', 'span_id') ?? '',
      };
      const state = j.string(l, 'traceState', 'trace_state');
      if (state !== '') link.trace_state = state;
      const linkAttr: Labels = {};
      attributes(j, l, 'attributes', linkAttr, lim);
      if (Object.keys(linkAttr).length > 0) link.attributes = linkAttr;
      return link;
    }),
  });
}
