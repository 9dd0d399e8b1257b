/**
 * Bad rows are isolated: the rows ClickHouse itself refuses are found by splitting the
 * batch, the good rows are written once, and the bad ones come back with ClickHouse's message.
 * The bad values are ones the real engine rejects: a negative `duration_ns` for a UInt64 column
 * (code 72) and a NaN time (code 27).
 */
import t from 'tap';
import { ISOLATION_BUDGET } from './isolate.js';
import { BASE_US, count, log, meta, openSink, select, span, target } from './testdata/harness.js';

t.test('bad rows are isolated, good rows written, replays insert nothing', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const { sink, logs } = openSink(t, tg.url);
  const events = [
    ...Array.from({ length: 1000 }, (_, i) => log(i)),
    span(1000, { duration_ns: -250_000, events: [{ time_us: BASE_US, name: 'lost with its span', attr: {} }] }),
    span(1001, { events: [{ time_us: BASE_US, name: 'kept', attr: {} }] }),
    span(1002, { events: [{ time_us: Number.NaN, name: 'bad event', attr: {} }] }),
  ];
  events[17] = log(17, { time_us: Number.NaN });
  events[901] = log(901, { time_us: Number.NaN });

  const result = await sink.write(events, meta(1));
  const rejected = result?.rejected ?? [];
  t.same(
    rejected.map((r) => r.index),
    [17, 901, 1000, 1002],
    'exactly the bad rows are rejected, by their index in the delivery',
  );
  t.match(
    rejected[0]?.reason,
    /^ClickHouse rejected the row in logs_events \(code 27 \(CANNOT_PARSE_INPUT_ASSERTION_FAILED\)\): .*NaN/s,
    "the reason is ClickHouse's message",
  );
  t.match(rejected[2]?.reason, /spans \(code 72 \(CANNOT_PARSE_NUMBER\)\).*Unsigned type must not contain '-'/s, 'the span with a negative duration');
  t.match(
    rejected[3]?.reason,
    /one of the span's events was rejected \(the span's row in spans was written\): ClickHouse rejected the row in span_events/,
    'a bad span event rejects its span and says its row was written',
  );

  t.equal(await count(tg.ch, 'logs_events'), 998, 'every good log is written');
  t.same(
    (await select<{ name: string }>(tg.ch, `SELECT name FROM ${tg.ch.database}.span_events ORDER BY name`)).map((r) => r.name),
    ['kept'],
    'the events of a rejected span are not written',
  );
  t.equal(await count(tg.ch, 'spans'), 2, 'spans 1001 and 1002 (whose row was fine) are written');
  t.match(logs.text(), /4 event\(s\) rejected and moved to the dead-letter table/, 'the rejection is logged');

  const again = await sink.write(events, meta(1, 2));
  t.same(again?.rejected, rejected, 'a replay rejects the same rows with the same reasons');
  t.equal(await count(tg.ch, 'logs_events'), 998, 'and writes no row twice');
  t.equal(await count(tg.ch, 'spans'), 2);
  t.equal(await count(tg.ch, 'span_events'), 1);
});

t.test('a batch with more bad rows than the isolation budget loses nothing', async (t) => {
  const tg = await target(t);
  if (!tg) return;
  const { sink } = openSink(t, tg.url);
  // Every third row is bad: far more than ISOLATION_BUDGET inserts can single out.
  const total = 3 * ISOLATION_BUDGET;
  const events = Array.from({ length: total }, (_, i) => (i % 3 === 0 ? log(i, { time_us: Number.NaN }) : log(i)));
  const rejected = (await sink.write(events, meta(1)))?.rejected ?? [];
  const written = await count(tg.ch, 'logs_events');
  const rejectedSet = new Set(rejected.map((r) => r.index));
  t.equal(written + rejected.length, total, 'every row is either written or rejected');
  t.ok(
    events.every((_, i) => i % 3 !== 0 || rejectedSet.has(i)),
    'every bad row is among the rejected ones',
  );
  t.ok(
    rejected.some((r) => r.reason.startsWith('not written: the delivery had more bad rows than the sink isolates')),
    'rows not singled out say why they were not written',
  );
  const [row] = await select<{ n: string; u: string }>(
    tg.ch,
    `SELECT toString(count()) AS n, toString(uniqExact(labels['seq'])) AS u FROM ${tg.ch.database}.logs_events`,
  );
  t.equal(row?.n, row?.u, 'no row is written twice');
  await sink.write(events, meta(1, 2));
  t.equal(await count(tg.ch, 'logs_events'), written, 'a replay writes nothing more');
});
