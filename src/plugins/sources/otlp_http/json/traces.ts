import type { Labels, SpanEventEntry } from '../../../../core/events.js';
import {
  inheritedLabels,
  newDecoded,
  reject,
  resourceInfo,
  SPAN_KIND_NAMES,
  SPAN_KINDS,
  spanIdProblem,
  STATUS_CODE_NAMES,
  statusCode,
  traceIdProblem,
  type Decoded,
} from '../mapping.js';
import { attributes, resourceAttributes, scopeInfo } from './common.js';
import { JsonReader, type JsonObject } from './reader.js';

const ZERO_SPAN_ID = '0'.repeat(16);

/** Decode an OTLP/JSON `ExportTraceServiceRequest` into span events (same rules as proto/traces.ts). */
export function decodeTracesJson(body: unknown): Decoded {
  const out = newDecoded();
  const j = new JsonReader();
  j.each(j.root(body), 'resourceSpans', 'resource_spans', (rs) => {
    const res = resourceInfo(resourceAttributes(j, rs));
    j.each(rs, 'scopeSpans', 'scope_spans', (ss) => {
      const inherited = inheritedLabels(res, scopeInfo(j, ss), false);
      j.each(ss, 'spans', undefined, (s) => span(j, s, res.service, inherited, out));
    });
  });
  return out;
}

function span(j: JsonReader, s: JsonObject, service: string, inherited: Labels, out: Decoded): void {
  const name = j.string(s, 'name');
  const traceId = j.hex(s, 'traceId', 'trace_id');
  const spanId = j.hex(s, 'spanId', 'span_id');
  let parent = j.hex(s, 'parentSpanId', 'parent_span_id');
  const kind = j.enumValue(s, 'kind', undefined, SPAN_KIND_NAMES);
  const startRest = { value: 0 };
  const endRest = { value: 0 };
  const startUs = j.timeUs(s, 'startTimeUnixNano', 'start_time_unix_nano', startRest);
  const endUs = j.timeUs(s, 'endTimeUnixNano', 'end_time_unix_nano', endRest);
  const traceState = j.string(s, 'traceState', 'trace_state');
  const attr: Labels = Object.assign({}, inherited);
  attributes(j, s, 'attributes', attr);
  const events: SpanEventEntry[] = [];
  j.each(s, 'events', undefined, (e) => {
    const eventAttr: Labels = {};
    const time = j.timeUs(e, 'timeUnixNano', 'time_unix_nano');
    const eventName = j.string(e, 'name');
    attributes(j, e, 'attributes', eventAttr);
    events.push({ time_us: time, name: eventName, attr: eventAttr });
  });
  const links: unknown[] = [];
  j.each(s, 'links', undefined, (l) => {
    const link: { trace_id: string; span_id: string; trace_state?: string; attributes?: Labels } = {
      trace_id: j.hex(l, 'traceId', 'trace_id') ?? '',
      span_id: j.hex(l, 'spanId', 'span_id') ?? '',
    };
    const state = j.string(l, 'traceState', 'trace_state');
    if (state !== '') link.trace_state = state;
    const linkAttr: Labels = {};
    attributes(j, l, 'attributes', linkAttr);
    if (Object.keys(linkAttr).length > 0) link.attributes = linkAttr;
    links.push(link);
  });
  const status = j.object(s, 'status', undefined, (st) => ({
    code: j.enumValue(st, 'code', undefined, STATUS_CODE_NAMES),
    message: j.string(st, 'message'),
  }));

  if (parent === ZERO_SPAN_ID) parent = '';
  const problem =
    (traceId === undefined ? 'trace_id is not hex' : traceIdProblem(traceId)) ||
    (spanId === undefined ? 'span_id is not hex' : spanIdProblem(spanId)) ||
    (parent === undefined ? 'parent_span_id is not hex' : parent === '' ? '' : spanIdProblem(parent, 'parent_span_id'));
  if (problem !== '' || traceId === undefined || spanId === undefined || parent === undefined) return reject(out, `span "${name}": ${problem}`);
  if (kind > 0 && kind < SPAN_KINDS.length) attr['span.kind'] = SPAN_KINDS[kind] as string;
  if (traceState !== '') attr['span.trace_state'] = traceState;
  if (links.length > 0) attr['span.links'] = JSON.stringify(links);
  const durationNs = (endUs - startUs) * 1000 + (endRest.value - startRest.value);
  out.events.push({
    kind: 'span',
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: parent,
    service,
    name,
    start_us: startUs,
    end_us: endUs,
    duration_ns: durationNs > 0 ? durationNs : 0,
    status_code: statusCode(status?.code ?? 0),
    status_message: status?.message ?? '',
    attr,
    events,
  });
}
