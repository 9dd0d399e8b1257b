/**
 * The embedded engine's next delivery spooled while the one before it is inserted (spool-ahead.ts):
 * what it writes is what the write would have written itself (rows, refusals, tokens), and no body
 * outlives its delivery.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Delivery } from '../../../index.js';
import { eventually } from '../../../testing/index.js';
import { BASE_US, batches, count, log, meta, openSink, select, span, target } from './testdata/harness.js';
import { loadTableSchema } from './schema.js';
import { SpoolAhead } from './spool-ahead.js';

const spoolFiles = (dataDir: string): string[] => {
  const dir = path.join(dataDir, 'spool', 'clickhouse-ch');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};

/** The embedded engine, or a skipped test: a server takes its bodies in the request, unspooled. */
async function embedded(t: Test) {
  const tg = await target(t);
  if (tg && tg.ch.mode !== 'embedded') {
    t.plan(0, 'bodies are spooled for the embedded engine only');
    return undefined;
  }
  return tg;
}

t.test('the next delivery is spooled while the one before is inserted, and written from that spool as it would be', async (t) => {
  const tg = await embedded(t);
  if (!tg) return;
  const { sink, dataDir } = openSink(t, tg.url);
  await sink.start?.();
  // The first delivery's tables are the ones whose schemas are known when the second is spooled.
  const first = batches([...Array.from({ length: 200 }, (_, i) => log(i)), span(500, { events: [{ time_us: BASE_US, name: 'first', attr: {} }] })]);
  const second = batches(
    [log(1000), log(1001, { time_us: NaN }), span(1002, { duration_ns: -5, events: [{ time_us: BASE_US, name: 'dropped', attr: {} }] })],
    [span(1003, { events: [{ time_us: BASE_US, name: 'kept', attr: {} }] }), log(1004)],
  );
  t.equal(typeof sink.prepareEncoded, 'function', 'the sink prepares deliveries ahead on the embedded engine');
  sink.prepareEncoded?.(second, meta(2).delivery);
  t.same(spoolFiles(dataDir), [], 'nothing is spooled before the write before it inserts');
  await sink.writeEncoded?.(first, meta(1));
  await eventually(() => spoolFiles(dataDir).length === 2, 5000, 'the second delivery spooled (logs_events and spans) once the first was inserting');
  const result = await sink.writeEncoded?.(second, meta(2));
  t.same(
    (result?.rejected ?? []).map((r) => r.index),
    [1, 2],
    'the rows the encoder refused while spooling ahead are rejected',
  );
  t.match(result?.rejected?.[0]?.reason, /cannot be stored in logs_events: timestamp is NaN/);
  t.equal(await count(tg.ch, 'logs_events'), 202, 'every good log row once');
  t.same(
    (await select<{ name: string }>(tg.ch, `SELECT name FROM ${tg.ch.database}.span_events ORDER BY name`)).map((r) => r.name),
    ['first', 'kept'],
    "a refused span's events are not written",
  );
  t.same(spoolFiles(dataDir), [], 'no body is left');

  // A replay of the delivery, spooled ahead again, is recognised by its tokens.
  sink.prepareEncoded?.(second, meta(2).delivery);
  await sink.writeEncoded?.(first, meta(1, 2));
  await sink.writeEncoded?.(second, meta(2, 2));
  t.equal(await count(tg.ch, 'logs_events'), 202, 'replays insert nothing');
  t.equal(await count(tg.ch, 'spans'), 2, 'two span rows');
  t.same(spoolFiles(dataDir), [], 'no body is left after the replays');
});

t.test('a write of another delivery spools its own bodies and leaves the offer for its turn', async (t) => {
  const tg = await embedded(t);
  if (!tg) return;
  const { sink, dataDir } = openSink(t, tg.url);
  const offered = batches(Array.from({ length: 50 }, (_, i) => log(i)));
  const other = batches(Array.from({ length: 30 }, (_, i) => log(100 + i)));
  sink.prepareEncoded?.(offered, meta(7).delivery);
  await sink.writeEncoded?.(other, meta(6));
  t.equal(await count(tg.ch, 'logs_events'), 30, 'the other delivery is written');
  await eventually(() => spoolFiles(dataDir).length === 1, 5000, 'the offer was spooled during that insert');
  await sink.writeEncoded?.(offered, meta(7));
  t.equal(await count(tg.ch, 'logs_events'), 80, 'the offered delivery is written');
  t.same(spoolFiles(dataDir), [], 'no body is left');
});

t.test('a newer offer, or stopping the sink, removes what was spooled ahead', async (t) => {
  const tg = await embedded(t);
  if (!tg) return;
  const { sink, dataDir } = openSink(t, tg.url);
  const rows = (from: number) => batches(Array.from({ length: 40 }, (_, i) => log(from + i)));
  sink.prepareEncoded?.(rows(100), meta(2).delivery);
  await sink.writeEncoded?.(rows(0), meta(1));
  await eventually(() => spoolFiles(dataDir).length === 1, 5000, 'delivery 2 spooled');
  // The runner read ahead again after a restart of its loop: another delivery comes next.
  sink.prepareEncoded?.(rows(200), new Delivery('ch', 'test', 3));
  await eventually(() => spoolFiles(dataDir).length === 0, 5000, "delivery 2's body removed");
  await sink.writeEncoded?.(rows(300), meta(9));
  await eventually(() => spoolFiles(dataDir).length === 1, 5000, 'delivery 3 spooled during the insert of another');
  await sink.stop?.();
  t.same(spoolFiles(dataDir), [], 'stop removes it');
  t.equal(await count(tg.ch, 'logs_events'), 80, 'only the written deliveries have rows');
});

t.test('a part spooled with a table schema since read again is not used, and removed', async (t) => {
  const tg = await embedded(t);
  if (!tg) return;
  const { sink, dataDir } = openSink(t, tg.url);
  await sink.start?.();
  const dir = path.join(dataDir, 'spool-test');
  const first = await loadTableSchema(tg.ch.client, tg.ch.database, 'logs_events', 'log');
  const again = await loadTableSchema(tg.ch.client, tg.ch.database, 'logs_events', 'log');
  const ahead = new SpoolAhead(dir, (role) => (role === 'log' ? Promise.resolve(first) : undefined));
  const delivery = new Delivery('ch', 'test', 4);
  ahead.offer(batches([log(1), log(2), span(3)]), delivery);
  const write = ahead.forWrite(delivery);
  t.same(await write.take('span', 0, 1, first), undefined, 'spans are not spooled without a span_event table');
  t.same(await write.take('log', 0, 2, again), undefined, 'not with another schema');
  t.equal(fs.readdirSync(dir).length, 1, 'the log body was spooled');
  await write.done();
  t.same(fs.readdirSync(dir), [], 'done() removes the body the write did not take');
  const other = ahead.forWrite(new Delivery('ch', 'test', 5));
  t.same(await other.take('log', 0, 2, first), undefined, 'nothing for a delivery that was not offered');
  await other.done();
});
