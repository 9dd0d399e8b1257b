/**
 * OpenTelemetry events (semantic conventions, "Events"): a log record with an `event.name` (the
 * `EventName` field of the log record, or the `event.name` attribute) becomes a business event of
 * that type when `log_events = "events"`. Its attributes and its body form the payload, its
 * severity the event's severity; the id is derived from the content (docs/events.md#exactly-once).
 */
import { type BusinessEvent, EVENT_TYPE, type TelemetryEvent, eventId } from '../../../index.js';

export function logRecordsToEvents(events: TelemetryEvent[]): TelemetryEvent[] {
  return events.map((e) => {
    if (e.kind !== 'log') return e;
    const type = e.labels['event.name'];
    if (type === undefined || type.length > 128 || !EVENT_TYPE.test(type)) return e;
    const payload: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e.labels)) if (k !== 'event.name') payload[k] = v;
    if (e.message !== '') payload.body = e.message;
    if (e.trace_id !== '') payload.trace_id = e.trace_id;
    if (e.span_id !== '') payload.span_id = e.span_id;
    const fields = { type, time_us: e.time_us, service: e.service, severity: e.level, payload };
    const event: BusinessEvent = { kind: 'event', ...fields, id: eventId(undefined, fields) };
    return event;
  });
}
