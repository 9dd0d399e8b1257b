import t from 'tap';
import { decodeBatch, encodeBatch } from './codec/batch.js';
import { eventId } from './event-id.js';
import type { BusinessEvent } from './events.js';

const base = { type: 'deploy', time_us: 1_764_878_400_000_000, service: 's', severity: 'info', payload: { b: 1, a: [1, { y: 2, x: 1 }] } };

t.test('event ids: a UUID is kept, other keys map to a UUID, content ids ignore key order', async (t) => {
  t.equal(eventId('5B0F7E8A-1C2D-8E3F-9A4B-5C6D7E8F9A0B', base), '5b0f7e8a-1c2d-8e3f-9a4b-5c6d7e8f9a0b');
  const fromKey = eventId('order-1', base);
  t.match(fromKey, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.equal(eventId('order-1', { ...base, payload: {} }), fromKey, 'a given key decides alone');
  const derived = eventId(undefined, base);
  t.equal(eventId(undefined, { ...base, payload: { a: [1, { x: 1, y: 2 }], b: 1 } }), derived, 'same content, other key order');
  t.not(eventId(undefined, { ...base, time_us: base.time_us + 1 }), derived);
});

t.test('the queue codec keeps an event id, and decodes events written without one', async (t) => {
  const withId: BusinessEvent = { kind: 'event', ...base, id: eventId(undefined, base) };
  const without: BusinessEvent = { kind: 'event', ...base };
  t.same(decodeBatch(encodeBatch([withId, without])), [withId, without]);
});
