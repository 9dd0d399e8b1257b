import type pg from 'pg';
import t from 'tap';
import { type Labels, registerSchema, type TelemetryEvent } from '../../../index.js';
import { migratePostgres } from '../../../storage/index.js';
import { withPostgres } from '../../../testing/index.js';
import { seriesJson, seriesKey } from './series.js';
import { event, histogram, logEvent, meta, nowUs, openSink, point, queued } from './testdata/harness.js';

/**
 * Queued batches (`writeEncoded`) are planned straight from the batch bytes (plan.ts, cursor-key.ts):
 * what lands must be what the same events land as through `write`, row for row, series for series,
 * rejection for rejection.
 */

const LONG = 'x'.repeat(70_000) + 'é'.repeat(3) + 'y'.repeat(5000);
const base = Math.floor(Date.now() / 1000) * 1_000_000;

/** Events that take every branch of the queued path; `n` more points over 40 series follow them. */
function tricky(n: number): TelemetryEvent[] {
  const shared: Labels = { host: 'a', zone: 'eu' };
  const events: TelemetryEvent[] = [
    point('ascii', { b: '2', a: '1' }, 1, base + 1),
    point('ascii', { a: '1', b: '2' }, 2, base + 2),
    point('ascii', { '10': 'x', '2': 'y', a: 'z' }, Number.NaN, base + 3),
    point('ascii', { a: 'z', '2': 'y', '10': 'x' }, Number.POSITIVE_INFINITY, base + 4),
    point('ascii', shared, Number.NEGATIVE_INFINITY, base + 5),
    point('ascii', shared, -0, base + 6, 'counter'),
    point('ascii', shared, 5e-324, base + 7, 'summary'),
    point('température', { région: 'Île-de-France', 'ключ': '値' }, 3, base + 8),
    point('température', { 'ключ': '値', région: 'Île-de-France' }, 4, base + 9),
    point('rocket', { emoji: '🚀', z: 'Z', Z: 'z' }, 5, base + 10),
    point('nul\u0000name', { k: 'v' }, 6, base + 11),
    point('nul', { k: 'v\u0000w' }, 7, base + 12),
    point('nul', { 'k\u0000': 'v' }, 8, base + 13),
    point('lone', { s: 'a\uD800b' }, 9, base + 14),
    point('lone', { s: 'a\uFFFDb' }, 10, base + 15),
    point('', {}, 11, base + 16),
    point('long', { v: LONG, w: LONG.slice(100) }, 12, base + 17),
    point('long', { v: LONG, w: LONG.slice(100) }, 13, base + 18),
    histogram('h', { b: '1', a: '2' }, { count: 3, sum: 0.5, buckets: { '0.1': 1, '10': 2, '+Inf': 3 } }, base + 19),
    point('h', { a: '2', b: '1' }, 14, base + 20),
    event('deploy', { v: 'é', n: 1 }, base + 21),
    logEvent('misrouted'),
    point('late', {}, 15, Number.NaN),
    point('ascii', { b: '2', a: '1' }, 16, base + 22),
  ];
  for (let i = 0; i < n; i++) events.push(point(i % 3 ? 'bulk' : 'bülk', i % 2 ? { s: String(i % 40), k: 'v' } : { k: 'v', s: String(i % 40) }, i / 7, base + 100 + i));
  return events;
}

async function landed(pool: pg.Pool): Promise<Record<string, unknown>> {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    points: await q(`SELECT (EXTRACT(EPOCH FROM p.time) * 1000000)::bigint::text AS us, p.value::text AS value, s.metric_name, s.labels::text AS labels
                       FROM metrics_points p JOIN metric_series s USING (series_id) ORDER BY p.time, p.value`),
    histograms: await q(`SELECT (EXTRACT(EPOCH FROM h.time) * 1000000)::bigint::text AS us, h.count::text, h.sum::text, h.buckets::text, s.metric_name, s.labels::text AS labels
                           FROM metrics_histogram h JOIN metric_series s USING (series_id) ORDER BY h.time`),
    events: await q(`SELECT id::text, (EXTRACT(EPOCH FROM ts) * 1000000)::bigint::text AS us, type, service, severity, payload::text FROM events_generic ORDER BY ts`),
    series: await q(`SELECT metric_name, labels::text AS labels FROM metric_series ORDER BY metric_name, labels::text`),
  };
}

t.test('queued batches land exactly as the same events through write()', async (t) => {
  const events = tricky(4500);
  const viaEvents = await withPostgres(t);
  const viaQueue = await withPostgres(t);
  const a = await openSink(t, { url: viaEvents.url });
  const b = await openSink(t, { url: viaQueue.url });
  const expected = await a.sink.write(events, meta());
  // Batches of 7: series, repeats and rejections cross batch boundaries and the COPY's steps.
  const got = await b.sink.writeEncoded(queued(events, 7), meta());
  t.same(got, expected, 'the same rows rejected, for the same reasons');
  t.same(
    expected?.rejected?.map((r) => r.index),
    [21, 22],
    'the log and the NaN time',
  );
  const want = await landed(viaEvents.pool);
  const have = await landed(viaQueue.pool);
  t.equal((have.points as unknown[]).length, events.length - 4, 'every point');
  t.same(have.series, want.series, 'the same series');
  t.same(have.points, want.points, 'the same points, times and values');
  t.same(have.histograms, want.histograms);
  t.same(have.events, want.events);
  // The three NULs both ways; the unpaired surrogate reaches write() as is, but a queued batch holds
  // UTF-8, whose encoder already wrote it as U+FFFD (stored the same either way, see `series`).
  t.equal(await a.counter('characters_replaced_total'), 4, 'write(): three NULs and an unpaired surrogate replaced');
  t.equal(await b.counter('characters_replaced_total'), 3, 'writeEncoded(): the three NULs replaced');

  const rocket = (want.series as Array<{ metric_name: string; labels: string }>).find((s) => s.metric_name === 'rocket');
  t.same(JSON.parse(rocket?.labels ?? 'null'), { emoji: '🚀', z: 'Z', Z: 'z' }, 'byte-exact labels');
  const long = (have.series as Array<{ metric_name: string; labels: string }>).find((s) => s.metric_name === 'long');
  t.equal((JSON.parse(long?.labels ?? '{}') as Labels).v, LONG, 'a 75,000-character label intact');
});

t.test('write() and writeEncoded() share the series cache: a series seen by one is not looked up for the other', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url });
  const events = tricky(100).filter((e) => e.kind === 'metric' && !Number.isNaN(e.time_us));
  await sink.write(events, meta());
  const lookups = await counter('series_lookups_total');
  await sink.writeEncoded(queued(events, 5), meta());
  t.equal(await counter('series_lookups_total'), lookups, 'no lookup: the keys agree, ASCII or not');
  await sink.writeEncoded(queued(tricky(10), 3), meta());
  await sink.write(tricky(10), meta());
  t.equal(await counter('series_lookups_total'), lookups, 'nor the other way round');
});

t.test('a series key names what is inserted for it', async (t) => {
  const cases: Array<[string, Labels]> = [
    ['m', {}],
    ['m', { b: '2', a: '1' }],
    ['m', { '10': 'x', '2': 'y', a: 'z' }],
    ['t\u00e9', { 'ключ': '値', q: '"\\\n' }],
    ['nul\u0000', { k: 'v' }],
    ['\u0001[', { k: 'v' }],
    ['\u0001', {}],
  ];
  for (const [name, labels] of cases) {
    const [n, l] = JSON.parse(seriesJson(seriesKey(name, labels))) as [string, Labels];
    t.equal(n, name);
    t.same(l, labels, JSON.stringify(labels));
  }
});

t.test('bad batches of a delivery do not touch the good rows', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  const events = [point('m', { s: '1' }, 1, nowUs()), point('m', { s: '1' }, 2, 1e30), point('m', { s: '2' }, 3, nowUs())];
  const result = await sink.writeEncoded(queued(events, 2), meta());
  t.same(
    result?.rejected?.map((r) => r.index),
    [1],
  );
  t.match(result?.rejected?.[0]?.reason, /^TC_PG_SINK_INVALID_VALUE: metric "m": time_us 1e\+30 is outside/, 'named by the metric, read from the batch');
});

t.test('typed tables get the business events of queued batches, numbered across them, and nothing else', async (t) => {
  const db = await withPostgres(t);
  await migratePostgres(db.pool);
  const client = await db.pool.connect();
  await registerSchema(client, 'order.paid', { type: 'object', properties: { qty: { type: 'integer' } }, 'x-thermocline': { table: 'events_paid', generic: false } });
  client.release();
  const { sink } = await openSink(t, { url: db.url, migrate: false });
  const events: TelemetryEvent[] = [];
  for (let i = 0; i < 30; i++) events.push(point('m', { s: String(i % 4) }, i, base + i));
  events[7] = event('order.paid', { qty: 7 }, base + 7);
  // Refused by the BIGINT column: isolated, dead-lettered under its index in the delivery.
  events[22] = event('order.paid', { qty: 2 ** 70 }, base + 22);
  events[23] = event('deploy', { v: 1 }, base + 23);
  const m = meta();
  const first = await sink.writeEncoded(queued(events, 4), m);
  t.same(
    first?.rejected?.map((r) => r.index),
    [22],
  );
  t.match(first?.rejected?.[0]?.reason, /^TC_PG_SINK_ROW_REJECTED: events_paid: /);
  t.same((await db.pool.query('SELECT qty FROM events_paid')).rows, [{ qty: '7' }]);
  t.same((await db.pool.query('SELECT type FROM events_generic')).rows, [{ type: 'deploy' }], 'order.paid is only in its typed table');
  t.equal(Number((await db.pool.query('SELECT count(*) AS n FROM metrics_points')).rows[0].n), 27);
  const replay = await sink.writeEncoded(queued(events, 4), m);
  t.same(replay, first, 'a replay reports the same refused row');
});
