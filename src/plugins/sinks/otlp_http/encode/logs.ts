import type { BusinessEvent, LogEvent } from '../../../../index.js';
import { Grouping, resource, scope, splitOrigin } from './scopes.js';
import { attributes, fixed64Nanos, hexBytes, newWriter, string, tagLen, tagVarint } from './wire.js';

/** Level names → the first `SeverityNumber` of their range (logs data model). */
const SEVERITY: Record<string, number> = { trace: 1, debug: 5, info: 9, warn: 13, warning: 13, error: 17, fatal: 21, critical: 21 };

interface LogRecordParts {
  time_us: number;
  level: string;
  message: string;
  trace_id: string;
  span_id: string;
  attrs: Record<string, string>;
  eventName: string;
}

/**
 * `ExportLogsServiceRequest { resource_logs = 1 }` for logs and business events. A business event
 * becomes a log record named by its type (`event_name`), its payload as a JSON body, and its
 * severity as the level.
 */
export function encodeLogs(logs: readonly LogEvent[], events: readonly BusinessEvent[]): Uint8Array {
  const groups = new Grouping<LogRecordParts>();
  for (const l of logs) {
    const res: Record<string, string> = { 'service.name': l.service };
    if (l.host !== '') res['host.name'] = l.host;
    const origin = splitOrigin(l.labels, res);
    groups.add(origin, { time_us: l.time_us, level: l.level, message: l.message, trace_id: l.trace_id, span_id: l.span_id, attrs: origin.own, eventName: '' });
  }
  for (const e of events) {
    const origin = splitOrigin({}, { 'service.name': e.service });
    groups.add(origin, { time_us: e.time_us, level: e.severity, message: JSON.stringify(e.payload), trace_id: '', span_id: '', attrs: { 'event.type': e.type }, eventName: e.type });
  }
  const w = newWriter();
  for (const r of groups.resources.values()) {
    w.uint32(tagLen(1)).fork(); // ResourceLogs
    resource(w, 1, r.resource);
    for (const s of r.scopes.values()) {
      w.uint32(tagLen(2)).fork(); // ScopeLogs
      scope(w, 1, s.origin);
      for (const rec of s.items) {
        w.uint32(tagLen(2)).fork(); // LogRecord
        fixed64Nanos(w, 1, rec.time_us);
        const severity = SEVERITY[rec.level.toLowerCase()];
        if (severity !== undefined) w.uint32(tagVarint(2)).int32(severity);
        string(w, 3, rec.level);
        if (rec.message !== '') w.uint32(tagLen(5)).fork().uint32(tagLen(1)).string(rec.message).ldelim(); // body: AnyValue.string_value
        attributes(w, 6, rec.attrs);
        hexBytes(w, 9, rec.trace_id, 32);
        hexBytes(w, 10, rec.span_id, 16);
        string(w, 12, rec.eventName);
        w.ldelim();
      }
      w.ldelim();
    }
    w.ldelim();
  }
  return w.finish();
}
