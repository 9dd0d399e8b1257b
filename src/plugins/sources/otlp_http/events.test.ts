/** OpenTelemetry events: log records with `event.name` become business events when configured. */
import t from 'tap';
import { JSON_TYPE, send, startReceiver } from './testdata/harness.js';

const logs = (records: object[]) =>
  JSON.stringify({
    resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeLogs: [{ logRecords: records }] }],
  });

const record = (extra: object) => ({
  timeUnixNano: '1764878400000000000',
  severityText: 'INFO',
  body: { stringValue: 'paid' },
  attributes: [{ key: 'order_id', value: { stringValue: 'o-1' } }],
  ...extra,
});

t.test('log_events = "events": a record with event.name is an event of that type; others stay logs', async (t) => {
  const rx = await startReceiver(t, 'log_events = "events"');
  const body = logs([
    record({ eventName: 'checkout.completed' }),
    record({ attributes: [{ key: 'event.name', value: { stringValue: 'deploy' } }] }),
    record({}),
    record({ eventName: 'Not A Type' }),
  ]);
  t.equal((await send(`${rx.base}/v1/logs`, { headers: JSON_TYPE, body })).status, 200);
  const events = await rx.waitFor(4);
  t.match(events[0], { kind: 'event', type: 'checkout.completed', service: 'shop', severity: 'info', time_us: 1764878400000000, payload: { order_id: 'o-1', body: 'paid' }, id: /^[0-9a-f-]{36}$/ });
  t.match(events[1], { kind: 'event', type: 'deploy', payload: { body: 'paid' } });
  t.match(events[2], { kind: 'log', message: 'paid' });
  t.match(events[3], { kind: 'log', labels: { 'event.name': 'Not A Type' } });
});

t.test('by default such records stay logs', async (t) => {
  const rx = await startReceiver(t);
  t.equal((await send(`${rx.base}/v1/logs`, { headers: JSON_TYPE, body: logs([record({ eventName: 'checkout.completed' })]) })).status, 200);
  t.match(await rx.waitFor(1), [{ kind: 'log', labels: { 'event.name': 'checkout.completed' } }]);
});
