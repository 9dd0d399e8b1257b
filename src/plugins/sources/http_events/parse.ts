/**
 * The events of a request body (docs/events.md#posting-events): a JSON object, a JSON array of
 * objects, or NDJSON (one object per line). Each event is checked field by field; problems are
 * reported with the JSON pointer of the field inside the event.
 */
import { type CandidateEvent as ParsedEvent, type EventProblem, EVENT_TYPE, HttpError, eventId, type Sliced, tooDeep } from '../../../index.js';

export type { CandidateEvent as ParsedEvent, EventProblem, RefusedEvent } from '../../../index.js';

const FIELDS = new Set(['type', 'time', 'service', 'severity', 'id', 'payload']);
const RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const MAX_TEXT = 256;

type Item = { value: unknown } | { error: string };

/** How often (in items) parsing offers to pause, so that the handler can run it in slices. */
const SLICE_ITEMS = 32;

/**
 * The raw items of a body; an NDJSON line that is not JSON is an item of its own, refused later.
 * More than `maxEvents` items is a 413; NDJSON stops parsing at the first line over it.
 */
export function* splitBody(text: string, ndjson: boolean, maxEvents: number): Sliced<Item[]> {
  if (!ndjson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new HttpError(400, `the body is not valid JSON: ${(err as Error).message}`);
    }
    const values = Array.isArray(parsed) ? parsed : [parsed];
    if (values.length > maxEvents) throw tooMany(values.length, maxEvents);
    return values.map((value) => ({ value }));
  }
  const items: Item[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    if (items.length === maxEvents) throw tooMany(`at least ${maxEvents + 1}`, maxEvents);
    try {
      items.push({ value: JSON.parse(line) });
    } catch (err) {
      items.push({ error: `this line is not valid JSON: ${(err as Error).message}` });
    }
    if (items.length % SLICE_ITEMS === 0) yield;
  }
  return items;
}

const tooMany = (count: number | string, max: number) => new HttpError(413, `the request carries ${count} events, more than max_events (${max}); send smaller batches`);

/** `toEvent` on every item, yielding every few items: each may be a deep payload to check. */
export function* toEvents(items: readonly Item[]): Sliced<ParsedEvent[]> {
  const out: ParsedEvent[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = toEvent(items[i] as Item, i);
    if (i % SLICE_ITEMS === SLICE_ITEMS - 1) yield;
  }
  return out;
}

/** Microseconds since the epoch from RFC 3339 text or epoch milliseconds, or a problem. */
export function parseTime(value: unknown): number | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > 253402300799999) return 'must be epoch milliseconds between 1970 and 9999';
    return Math.round(value * 1000);
  }
  if (typeof value !== 'string') return 'must be an RFC 3339 timestamp ("2026-12-04T20:00:00Z") or epoch milliseconds';
  const m = RFC3339.exec(value);
  const ms = m === null ? NaN : Date.parse(`${m[1]}${m[3]}`.replace(' ', 'T'));
  if (m === null || Number.isNaN(ms)) return 'must be an RFC 3339 timestamp with a time zone ("2026-12-04T20:00:00Z") or epoch milliseconds';
  const fraction = (m[2] ?? '').slice(1, 7).padEnd(6, '0');
  return ms * 1000 + Number(fraction);
}

const optionalText = (raw: Record<string, unknown>, key: string, problems: EventProblem[]): string => {
  const v = raw[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || v.length > MAX_TEXT) {
    problems.push({ pointer: `/${key}`, message: `must be a string of at most ${MAX_TEXT} characters` });
    return '';
  }
  return v;
};

/** One item of the body as an event, or the reasons it is refused. */
export function toEvent(item: { value: unknown } | { error: string }, index: number): ParsedEvent {
  if ('error' in item) return { index, refused: { index, type: null, errors: [{ pointer: '', message: item.error }] } };
  const raw = item.value;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { index, refused: { index, type: null, errors: [{ pointer: '', message: 'an event must be a JSON object with "type", "time" and "payload"' }] } };
  }
  const r = raw as Record<string, unknown>;
  const problems: EventProblem[] = [];
  for (const key of Object.keys(r)) if (!FIELDS.has(key)) problems.push({ pointer: `/${key}`, message: 'unknown field (allowed: type, time, service, severity, id, payload)' });
  const type = typeof r.type === 'string' ? r.type : null;
  if (type === null || type.length > 128 || !EVENT_TYPE.test(type)) {
    problems.push({ pointer: '/type', message: 'required: lower-case words separated by ".", "-" or "_", at most 128 characters (e.g. "checkout.completed")' });
  }
  const time = r.time === undefined ? 'is required' : parseTime(r.time);
  if (typeof time === 'string') problems.push({ pointer: '/time', message: time });
  const service = optionalText(r, 'service', problems);
  const severity = optionalText(r, 'severity', problems);
  const id = optionalText(r, 'id', problems);
  const payload = r.payload ?? {};
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) problems.push({ pointer: '/payload', message: 'must be a JSON object' });
  else {
    const deep = tooDeep(payload);
    if (deep !== undefined) problems.push({ pointer: `/payload${deep}`, message: 'nests deeper than 32 levels' });
  }
  if (problems.length > 0 || type === null || typeof time === 'string') return { index, refused: { index, type, errors: problems } };
  const fields = { type, time_us: time, service, severity, payload: payload as Record<string, unknown> };
  return { index, event: { kind: 'event', ...fields, id: eventId(id === '' ? undefined : id, fields) } };
}
