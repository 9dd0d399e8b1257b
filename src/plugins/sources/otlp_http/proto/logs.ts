import { runAtOnce, type Labels, type Sliced } from '../../../../index.js';
import { unlimited, type ItemLimits } from '../item-limits.js';
import {
  inheritedLabels,
  level,
  newDecoded,
  reject,
  resourceInfo,
  spanIdProblem,
  traceIdProblem,
  type Decoded,
  type ResourceInfo,
  type ScopeInfo,
} from '../mapping.js';
import { anyValueText, attribute, prescan, resource, scope } from './common.js';
import { I64, LEN, VARINT, createReader, enter, hex, leave, skip, str, tag, timeUs, type Reader } from './wire.js';
import { timeProblem } from '../storable.js';

/*
 * opentelemetry/proto/collector/logs/v1/logs_service.proto and logs/v1/logs.proto
 * (opentelemetry-proto v1.x).
 */

// ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
const REQUEST_RESOURCE_LOGS = tag(1, LEN);
// ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
const RL_RESOURCE = tag(1, LEN);
const RL_SCOPE_LOGS = tag(2, LEN);
// ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
const SL_SCOPE = tag(1, LEN);
const SL_LOG_RECORDS = tag(2, LEN);
// LogRecord { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; SeverityNumber severity_number = 2;
//   string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; uint32 dropped_attributes_count = 7;
//   fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10; string event_name = 12; }
const LOG_TIME = tag(1, I64);
const LOG_OBSERVED_TIME = tag(11, I64);
const LOG_SEVERITY_NUMBER = tag(2, VARINT);
const LOG_SEVERITY_TEXT = tag(3, LEN);
const LOG_BODY = tag(5, LEN);
const LOG_ATTRIBUTES = tag(6, LEN);
const LOG_TRACE_ID = tag(9, LEN);
const LOG_SPAN_ID = tag(10, LEN);
const LOG_EVENT_NAME = tag(12, LEN);

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Decode an `ExportLogsServiceRequest` body into log events. Throws on a malformed body. */
export function decodeLogsProto(body: Buffer, lim: ItemLimits = unlimited()): Decoded {
  return runAtOnce(logsProto(body, lim));
}

/** The same, yielding between log records so that the receiver can decode in slices. */
export function* logsProto(body: Buffer, lim: ItemLimits): Sliced<Decoded> {
  const out = newDecoded();
  const r = createReader(body);
  const nowUs = Date.now() * 1000;
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === REQUEST_RESOURCE_LOGS) yield* resourceLogs(r, out, nowUs, lim);
    else skip(r, t);
  }
  return out;
}

function* resourceLogs(r: Reader, out: Decoded, nowUs: number, lim: ItemLimits): Sliced<void> {
  const outer = enter(r);
  const attrs: Labels = {};
  prescan(r, RL_RESOURCE, (r) => resource(r, attrs, lim));
  const res = resourceInfo(attrs);
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === RL_SCOPE_LOGS) yield* scopeLogs(r, res, out, nowUs, lim);
    else skip(r, t);
  }
  leave(r, outer);
}

function* scopeLogs(r: Reader, res: ResourceInfo, out: Decoded, nowUs: number, lim: ItemLimits): Sliced<void> {
  const outer = enter(r);
  const sc: ScopeInfo = { name: '', version: '', attrs: {} };
  prescan(r, SL_SCOPE, (r) => scope(r, sc, lim));
  const inherited = inheritedLabels(res, sc, true);
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === SL_LOG_RECORDS) {
      logRecord(r, res, inherited, out, nowUs, lim);
      if (lim.item()) yield;
    } else skip(r, t);
  }
  leave(r, outer);
}

function logRecord(r: Reader, res: ResourceInfo, inherited: Labels, out: Decoded, nowUs: number, lim: ItemLimits): void {
  const outer = enter(r);
  let attrs = 0;
  let time = 0;
  let observed = 0;
  let severityNumber = 0;
  let severityText = '';
  let message = '';
  let traceId = '';
  let spanId = '';
  let eventName = '';
  const labels: Labels = Object.assign({}, inherited);
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case LOG_TIME:
        time = timeUs(r);
        break;
      case LOG_OBSERVED_TIME:
        observed = timeUs(r);
        break;
      case LOG_SEVERITY_NUMBER:
        severityNumber = r.int32();
        break;
      case LOG_SEVERITY_TEXT:
        severityText = str(r);
        break;
      case LOG_BODY: {
        const o = enter(r);
        message = anyValueText(r, 0);
        leave(r, o);
        break;
      }
      case LOG_ATTRIBUTES:
        attrs = attribute(r, labels, attrs, lim);
        break;
      case LOG_TRACE_ID:
        traceId = hex(r);
        break;
      case LOG_SPAN_ID:
        spanId = hex(r);
        break;
      case LOG_EVENT_NAME:
        eventName = str(r);
        break;
      default:
        skip(r, t);
    }
  }
  leave(r, outer);
  // Trace context is optional on logs: absent or all-zero ids mean "none"; a wrong length is an error.
  if (traceId === ZERO_TRACE_ID) traceId = '';
  if (spanId === ZERO_SPAN_ID) spanId = '';
  const problem = (traceId === '' ? '' : traceIdProblem(traceId)) || (spanId === '' ? '' : spanIdProblem(spanId));
  const recordUs = time || observed || nowUs;
  const why = problem || timeProblem(recordUs, 'time_unix_nano');
  if (why !== '') return reject(out, `log record: ${why}`);
  if (eventName !== '') labels['event.name'] = eventName;
  out.events.push({
    kind: 'log',
    time_us: recordUs,
    service: res.service,
    host: res.host,
    level: level(severityText, severityNumber),
    trace_id: traceId,
    span_id: spanId,
    message,
    labels,
  });
}
