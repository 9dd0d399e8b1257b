import { runAtOnce, type Labels, type Sliced } from '../../../../index.js';
import { unlimited, type ItemLimits } from '../item-limits.js';
import {
  inheritedLabels,
  level,
  newDecoded,
  reject,
  resourceInfo,
  severityNumberOf,
  spanIdProblem,
  traceIdProblem,
  type Decoded,
  type ResourceInfo,
} from '../mapping.js';
import { anyValueText, attributes, resourceAttributes, scopeInfo } from './common.js';
import { JsonReader, type JsonObject } from './reader.js';
import { timeProblem } from '../storable.js';

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Decode an OTLP/JSON `ExportLogsServiceRequest` into log events (same rules as proto/logs.ts). */
export function decodeLogsJson(body: unknown, lim: ItemLimits = unlimited()): Decoded {
  return runAtOnce(logsJson(body, lim));
}

/** The same, yielding between log records so that the receiver can decode in slices. */
export function* logsJson(body: unknown, lim: ItemLimits): Sliced<Decoded> {
  const out = newDecoded();
  const j = new JsonReader();
  const nowUs = Date.now() * 1000;
  for (const rl of j.items(j.root(body), 'resourceLogs', 'resource_logs')) {
    const res = resourceInfo(resourceAttributes(j, rl, lim));
    for (const sl of j.items(rl, 'scopeLogs', 'scope_logs')) {
      const inherited = inheritedLabels(res, scopeInfo(j, sl, lim), true);
      for (const lr of j.items(sl, 'logRecords', 'log_records')) {
        logRecord(j, lr, res, inherited, out, nowUs, lim);
        if (lim.item()) yield;
      }
    }
  }
  return out;
}

function severityNumber(j: JsonReader, lr: JsonObject): number {
  const v = j.get(lr, 'severityNumber', 'severity_number');
  if (typeof v === 'string') {
    const n = severityNumberOf(v);
    if (n !== undefined) return n;
  }
  return j.int(lr, 'severityNumber', 'severity_number');
}

function logRecord(j: JsonReader, lr: JsonObject, res: ResourceInfo, inherited: Labels, out: Decoded, nowUs: number, lim: ItemLimits): void {
  const time = j.timeUs(lr, 'timeUnixNano', 'time_unix_nano');
  const observed = j.timeUs(lr, 'observedTimeUnixNano', 'observed_time_unix_nano');
  const lvl = level(j.string(lr, 'severityText', 'severity_text'), severityNumber(j, lr));
  const message = j.object(lr, 'body', undefined, (b) => anyValueText(j, b)) ?? '';
  const labels: Labels = Object.assign({}, inherited);
  attributes(j, lr, 'attributes', labels, lim);
  let traceId = j.hex(lr, 'traceId', 'trace_id');
  let spanId = j.hex(lr, 'spanId', 'span_id');
  const eventName = j.string(lr, 'eventName', 'event_name');
  if (traceId === ZERO_TRACE_ID) traceId = '';
  if (spanId === ZERO_SPAN_ID) spanId = '';
  const problem =
    (traceId === undefined ? 'trace_id is not hex' : traceId === '' ? '' : traceIdProblem(traceId)) ||
    (spanId === undefined ? 'span_id is not hex' : spanId === '' ? '' : spanIdProblem(spanId));
  const timeUs = time || observed || nowUs;
  const why = problem || timeProblem(timeUs, 'time_unix_nano');
  if (why !== '' || traceId === undefined || spanId === undefined) return reject(out, `log record: ${why}`);
  if (eventName !== '') labels['event.name'] = eventName;
  out.events.push({
    kind: 'log',
    time_us: timeUs,
    service: res.service,
    host: res.host,
    level: lvl,
    trace_id: traceId,
    span_id: spanId,
    message,
    labels,
  });
}
