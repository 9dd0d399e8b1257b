import t from 'tap';
import { withPostgres } from '../../../testing/index.js';
import { event, histogram, logEvent, meta, openSink, point } from './testdata/harness.js';

/** Points, histograms and business events land with exact values. */

t.test('points land in metrics_points with exact values, times and series', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  const base = Math.floor(Date.now() / 1000) * 1_000_000 + 123_456; // whole µs with a sub-second part
  const values = [0.1, -0, 42, -1.5e-300, 5e-324, 1.7976931348623157e308, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53 + 2];
  const events = values.map((v, i) => point('http_requests_total', { route: `/r${i % 3}`, method: 'GET' }, v, base + i, i % 2 ? 'counter' : 'gauge'));
  t.same(await sink.write(events, meta()), undefined, 'nothing rejected');

  const { rows } = await db.pool.query<{ us: string; value: number; metric_name: string; labels: unknown }>(
    `SELECT (EXTRACT(EPOCH FROM p.time) * 1000000)::bigint::text AS us, p.value, s.metric_name, s.labels
       FROM metrics_points p JOIN metric_series s USING (series_id) ORDER BY p.time`,
  );
  t.equal(rows.length, values.length);
  rows.forEach((row, i) => {
    t.equal(row.us, String(base + i), `time of point ${i} to the microsecond`);
    t.ok(Object.is(row.value, values[i]), `value ${String(values[i])} exact (got ${String(row.value)})`);
    t.equal(row.metric_name, 'http_requests_total');
    t.same(row.labels, { method: 'GET', route: `/r${i % 3}` });
  });
  const series = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM metric_series');
  t.equal(series.rows[0]?.n, '3', 'one series per distinct label set');
});

t.test('histograms land in metrics_histogram with count, sum and buckets', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  const now = Math.floor(Date.now() / 1000) * 1_000_000;
  const h1 = { count: 9_007_199_254_740_991, sum: 0.30000000000000004, buckets: { '0.1': 1, '1': 5, '+Inf': 9_007_199_254_740_991 } };
  const h2 = { count: 0, sum: Number.NaN, buckets: {} };
  t.same(await sink.write([histogram('rpc_seconds', { svc: 'a' }, h1, now), histogram('rpc_seconds', { svc: 'b' }, h2, now + 1)], meta()), undefined);
  const { rows } = await db.pool.query<{ count: string; sum: number; buckets: unknown; labels: unknown; us: string }>(
    `SELECT h.count::text AS count, h.sum, h.buckets, s.labels, (EXTRACT(EPOCH FROM h.time) * 1000000)::bigint::text AS us
       FROM metrics_histogram h JOIN metric_series s USING (series_id) ORDER BY h.time`,
  );
  t.same(
    rows.map((r) => ({ ...r })),
    [
      { count: '9007199254740991', sum: 0.30000000000000004, buckets: h1.buckets, labels: { svc: 'a' }, us: String(now) },
      { count: '0', sum: Number.NaN, buckets: {}, labels: { svc: 'b' }, us: String(now + 1) },
    ],
  );
});

t.test('business events land in events_generic; logs and spans are rejected with advice', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  const now = Math.floor(Date.now() / 1000) * 1_000_000 + 7;
  const payload = { version: '1.2.3', nested: { list: [1, 2.5, null, true, 'x'], empty: {} }, big: 1e300, quote: 'say "hi"\n' };
  const result = await sink.write(
    [event('deploy', payload, now, 'checkout', 'info'), logEvent('not for postgres'), event('incident', {}, now + 1, '', 'error')],
    meta(),
  );
  t.equal(result?.rejected?.length, 1);
  t.equal(result?.rejected?.[0]?.index, 1);
  t.match(result?.rejected?.[0]?.reason, /^TC_PG_SINK_UNSUPPORTED_KIND: a log event .*clickhouse/);
  const { rows } = await db.pool.query<{ type: string; service: string; severity: string; payload: unknown; us: string; id: string }>(
    `SELECT type, service, severity, payload, (EXTRACT(EPOCH FROM ts) * 1000000)::bigint::text AS us, id::text FROM events_generic ORDER BY ts`,
  );
  t.same(
    rows.map(({ id: _id, ...r }) => r),
    [
      { type: 'deploy', service: 'checkout', severity: 'info', payload, us: String(now) },
      { type: 'incident', service: '', severity: 'error', payload: {}, us: String(now + 1) },
    ],
  );
  t.match(rows[0]?.id, /^[0-9a-f-]{36}$/, 'the server assigns the uuid');
});

t.test('a mixed delivery writes every table in one transaction', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  await sink.write([point('a', {}, 1), histogram('b', {}, { count: 1, sum: 1, buckets: { '+Inf': 1 } }), event('deploy', {})], meta());
  const counts = await db.pool.query<{ p: string; h: string; e: string; l: string }>(
    `SELECT (SELECT count(*) FROM metrics_points) AS p, (SELECT count(*) FROM metrics_histogram) AS h,
            (SELECT count(*) FROM events_generic) AS e, (SELECT count(*) FROM thermocline_batches) AS l`,
  );
  t.same(counts.rows[0], { p: '1', h: '1', e: '1', l: '1' });
  const labels = await db.pool.query<{ labels: unknown }>(`SELECT labels FROM metric_series WHERE metric_name = 'a'`);
  t.same(labels.rows[0]?.labels, {}, 'a metric without labels gets {}');
});

t.test('values no column can hold are rejected with the field named', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  const result = await sink.write(
    [
      point('ok', {}, 1),
      point('bad_time', {}, 1, Number.NaN),
      histogram('bad_count', {}, { count: 1.5, sum: 1, buckets: {} }),
      point('bad_value', {}, 'x' as unknown as number),
      event('bad_payload', { n: 1n } as unknown as Record<string, unknown>),
    ],
    meta(),
  );
  t.same(
    result?.rejected?.map((r) => [r.index, r.reason.replace(/:.*/, '')]),
    [
      [1, 'TC_PG_SINK_INVALID_VALUE'],
      [2, 'TC_PG_SINK_INVALID_VALUE'],
      [3, 'TC_PG_SINK_INVALID_VALUE'],
      [4, 'TC_PG_SINK_INVALID_VALUE'],
    ],
  );
  t.match(result?.rejected?.[0]?.reason, /time_us NaN is not a finite number/);
  t.match(result?.rejected?.[1]?.reason, /count 1\.5 is not a whole number/);
  const n = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM metrics_points');
  t.equal(n.rows[0]?.n, '1', 'the good point landed');
});

t.test('values larger than a COPY chunk land intact, beside small ones', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  const big = { text: '日本'.repeat(300_000), list: Array.from({ length: 20_000 }, (_, i) => i) };
  const events = [event('small', { a: 1 }), event('big', big), ...Array.from({ length: 5000 }, (_, i) => point('many', { i: String(i % 10) }, i))];
  t.equal(await sink.write(events, meta()), undefined);
  const { rows } = await db.pool.query<{ payload: unknown }>(`SELECT payload FROM events_generic WHERE type = 'big'`);
  t.same(rows[0]?.payload, big);
  const sum = await db.pool.query<{ n: string; s: number }>('SELECT count(*) AS n, sum(value) AS s FROM metrics_points');
  t.same(sum.rows[0], { n: '5000', s: (4999 * 5000) / 2 });
});
