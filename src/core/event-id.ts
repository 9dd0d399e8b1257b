/**
 * The identity of a business event (docs/events.md#exactly-once): the producer's `id` when it
 * sends one, otherwise a digest of the event's content, so a client retry or a replayed delivery
 * carries the same id and the stores keep the event once. Always a UUID (the type of
 * `events_generic.id`): an `id` that is not one is mapped to one by its digest.
 */
import { createHash } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID from a digest: version 8 ("custom", RFC 9562 §5.8), RFC 4122 variant. */
function uuidFromDigest(text: string): string {
  const b = createHash('sha256').update(text, 'utf8').digest().subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x80;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface EventIdentity {
  readonly type: string;
  readonly time_us: number;
  readonly service: string;
  readonly severity: string;
  readonly payload: Record<string, unknown>;
}

export function eventId(given: string | undefined, event: EventIdentity): string {
  if (given !== undefined) return UUID.test(given) ? given.toLowerCase() : uuidFromDigest(`id\u0000${given}`);
  return uuidFromDigest(`event\u0000${event.type}\u0000${event.time_us}\u0000${event.service}\u0000${event.severity}\u0000${canonical(event.payload)}`);
}
