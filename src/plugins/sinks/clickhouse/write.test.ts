/**
 * What lands in ClickHouse, exactly: logs, spans and span events with their times to the
 * column's precision, Map labels and ids; and replays that insert nothing. Real engine (chdb, or
 * the server of CH_URL).
 */
import t from 'tap';
import { Delivery } from '../../../index.js';
import { BASE_US, count, createTable, log, meta, openSink, select, span, target } from './testdata/harness.js';

t.test('logs, spans and span events land with exact values', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const { sink } = openSink(t, tg.url);
  await sink.start?.();
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = '00f067aa0ba902b7';
  const events = [
    log(1, {
      time_us: BASE_US + 123_456,
      level: 'error',
      trace_id: traceId,
      span_id: spanId,
      message: 'quote " backslash \\ tab \t newline \n unicode ✓ 日本',
      labels: { 'k8s.pod': 'web-1', region: 'eu-west-1', empty: '' },
    }),
    span(2, {
      trace_id: traceId,
      span_id: spanId,
      parent_span_id: '53995c3f42cd8ad8',
      name: 'SELECT orders',
      start_us: BASE_US + 1,
      end_us: BASE_US + 1_250_002,
      duration_ns: 1_250_001_000,
      status_code: 'ERROR',
      status_message: 'deadline exceeded',
      attr: { 'db.system': 'postgresql', 'net.peer.port': '5432' },
      events: [
        { time_us: BASE_US + 500_000, name: 'retry', attr: { attempt: '1' } },
        { time_us: BASE_US + 999_999, name: 'exception', attr: { 'exception.type': 'Timeout' } },
      ],
    }),
  ];
  t.same(await sink.write(events, meta(1)), undefined, 'nothing rejected');

  const db = tg.ch.database;
  t.same(
    await select(
      tg.ch,
      `SELECT toString(timestamp) AS ts, toString(toUnixTimestamp64Milli(timestamp)) AS ms, service, host, level, trace_id, span_id, message, labels FROM ${db}.logs_events`,
    ),
    [
      {
        ts: new Date((BASE_US + 123_456) / 1000).toISOString().replace('T', ' ').replace('Z', ''),
        ms: String(Math.floor((BASE_US + 123_456) / 1000)),
        service: 'checkout',
        host: 'web-1',
        level: 'error',
        trace_id: traceId,
        span_id: spanId,
        message: 'quote " backslash \\ tab \t newline \n unicode ✓ 日本',
        labels: { 'k8s.pod': 'web-1', region: 'eu-west-1', empty: '' },
      },
    ],
    'the log row: DateTime64(3) holds the millisecond (the microseconds are cut, not rounded), the Map holds every label',
  );
  t.same(
    await select(
      tg.ch,
      `SELECT trace_id, span_id, parent_span_id, service, name, toString(toUnixTimestamp64Micro(start_time)) AS start_us, toString(toUnixTimestamp64Micro(end_time)) AS end_us, toString(duration_ns) AS duration_ns, status_code, status_message, attr FROM ${db}.spans`,
    ),
    [
      {
        trace_id: traceId,
        span_id: spanId,
        parent_span_id: '53995c3f42cd8ad8',
        service: 'checkout',
        name: 'SELECT orders',
        start_us: String(BASE_US + 1),
        end_us: String(BASE_US + 1_250_002),
        duration_ns: '1250001000',
        status_code: 'ERROR',
        status_message: 'deadline exceeded',
        attr: { 'db.system': 'postgresql', 'net.peer.port': '5432' },
      },
    ],
    'the span row, to the microsecond',
  );
  t.same(
    await select(tg.ch, `SELECT trace_id, span_id, toString(toUnixTimestamp64Micro(ts)) AS ts, name, attr FROM ${db}.span_events ORDER BY ts`),
    [
      { trace_id: traceId, span_id: spanId, ts: String(BASE_US + 500_000), name: 'retry', attr: { attempt: '1' } },
      { trace_id: traceId, span_id: spanId, ts: String(BASE_US + 999_999), name: 'exception', attr: { 'exception.type': 'Timeout' } },
    ],
    "one span_events row per span event, with the span's ids",
  );
});

t.test('a replayed delivery inserts nothing', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const { sink } = openSink(t, tg.url);
  const events = [
    ...Array.from({ length: 500 }, (_, i) => log(i)),
    ...Array.from({ length: 100 }, (_, i) => span(i, { events: [{ time_us: BASE_US + i, name: 'e', attr: {} }] })),
  ];
  await sink.write(events, meta(10));
  await sink.write(events, meta(10, 2));
  t.equal(await count(tg.ch, 'logs_events'), 500, 'logs once');
  t.equal(await count(tg.ch, 'spans'), 100, 'spans once');
  t.equal(await count(tg.ch, 'span_events'), 100, 'span events once');

  // A second sink instance (a restarted agent) replaying the same pinned delivery.
  const again = openSink(t, tg.url);
  await again.sink.write(events, meta(10, 3));
  t.equal(await count(tg.ch, 'logs_events'), 500, 'still once after a replay from another instance');

  // The same rows under another delivery are new data, not a replay.
  await sink.write(events.slice(0, 10), meta(11));
  t.equal(await count(tg.ch, 'logs_events'), 510, 'identical rows of another delivery are written');
});

t.test('one upstream batch written by two gateways is inserted once', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const a = openSink(t, tg.url);
  const b = openSink(t, tg.url);
  const events = [...Array.from({ length: 200 }, (_, i) => log(i)), ...Array.from({ length: 50 }, (_, i) => span(i))];
  const origin = 'nats:TELEMETRY:bus@0123456789ab:7';
  // Two gateways, two queue instances and sequence numbers, one bus message.
  await a.sink.write(events, { delivery: new Delivery('ch', 'aaaaaaaaaaaa', 100, 100, origin), attempt: 1 });
  await b.sink.write(events, { delivery: new Delivery('ch', 'bbbbbbbbbbbb', 7_000, 7_000, origin), attempt: 1 });
  t.equal(await count(tg.ch, 'logs_events'), 200, 'logs once');
  t.equal(await count(tg.ch, 'spans'), 50, 'spans once');
  await b.sink.write(events.slice(0, 5), { delivery: new Delivery('ch', 'bbbbbbbbbbbb', 7_001, 7_001, 'nats:TELEMETRY:bus@0123456789ab:8'), attempt: 1 });
  t.equal(await count(tg.ch, 'logs_events'), 205, 'another origin is another batch');
});

t.test('a delivery that failed half-way is completed by its replay, without duplicates', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const db = tg.ch.database;
  const { sink } = openSink(t, tg.url);
  await sink.start?.();
  const events = [log(1), log(2), span(3, { events: [{ time_us: BASE_US, name: 'e', attr: {} }] })];
  await sink.write([log(0), span(0)], meta(19)); // an earlier delivery: the sink has read the tables' columns
  // The spans table disappears after the logs went in: the first attempt fails between two inserts.
  await tg.ch.client.command({ query: `RENAME TABLE ${db}.spans TO ${db}.spans_away` });
  await t.rejects(sink.write(events, meta(20)), { name: 'RetryableError', code: 'TC_CH_SCHEMA_MISMATCH' }, 'the attempt fails, retryable');
  t.equal(await count(tg.ch, 'logs_events'), 3, 'the logs of the failed attempt are in');
  await tg.ch.client.command({ query: `RENAME TABLE ${db}.spans_away TO ${db}.spans` });
  t.same(await sink.write(events, meta(20, 2)), undefined, 'the replay succeeds');
  t.equal(await count(tg.ch, 'logs_events'), 3, 'the logs are not written twice');
  t.equal(await count(tg.ch, 'spans', "span_id != '0000000000000000'"), 1, 'the span is written');
  t.equal(await count(tg.ch, 'span_events'), 1, 'its event too');
});

t.test('times follow the precision of a custom table', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const db = tg.ch.database;
  // A log table whose timestamp counts microseconds instead of the seed's milliseconds.
  await tg.ch.client.command({
    query: `CREATE TABLE ${db}.logs_us (timestamp DateTime64(6, 'UTC'), service String, host String, level String, trace_id String, span_id String, message String, labels Map(String, String), extra String DEFAULT 'd') ENGINE = MergeTree ORDER BY timestamp SETTINGS non_replicated_deduplication_window = 100`,
  });
  const { sink } = openSink(t, tg.url, { migrate: false, tables: { log: 'logs_us' } });
  await sink.write([log(1, { time_us: BASE_US + 654_321 })], meta(1));
  t.same(
    await select(tg.ch, `SELECT toString(toUnixTimestamp64Micro(timestamp)) AS us, extra FROM ${db}.logs_us`),
    [{ us: String(BASE_US + 654_321), extra: 'd' }],
    'microseconds kept; columns the sink does not fill get their default',
  );
});

t.test('business events into a mapped table, the payload as JSON text', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const db = tg.ch.database;
  await createTable(tg.ch, 'events_raw');
  const { sink } = openSink(t, tg.url, { tables: { event: 'events_raw' } });
  const payload = { version: '1.2.3', canary: true, regions: ['eu', 'us'] };
  t.same(await sink.write([{ kind: 'event', type: 'deploy', service: 'checkout', severity: 'info', time_us: BASE_US + 42_000, payload }], meta(1)), undefined);
  const rows = await select<{ ms: string; type: string; service: string; severity: string; payload: string }>(
    tg.ch,
    `SELECT toString(toUnixTimestamp64Milli(ts)) AS ms, type, service, severity, payload FROM ${db}.events_raw`,
  );
  t.same(
    rows.map((r) => ({ ...r, payload: JSON.parse(r.payload) as unknown })),
    [{ ms: String((BASE_US + 42_000) / 1000), type: 'deploy', service: 'checkout', severity: 'info', payload }],
  );
});

t.test('the handle: usable before start, refused after stop', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const { sink, handle } = openSink(t, tg.url);
  t.equal(handle.kind, 'clickhouse', 'provided as ClickHouseConnection under the sink id');
  const { client, database, engine } = await handle.connection();
  t.equal(database, tg.ch.database);
  t.equal(engine, tg.ch.mode === 'embedded' ? 'embedded' : 'server');
  t.equal(await count(tg.ch, 'logs_events'), 0, 'opening it migrated the tables');
  await client.command({ query: `SELECT 1` });
  await sink.start?.();
  t.equal((await handle.connection()).client, client, 'start() reuses the same connection');
  await sink.stop?.();
  await sink.stop?.();
  await t.rejects(handle.connection(), /stopped/, 'refused after stop (which is idempotent)');
});
