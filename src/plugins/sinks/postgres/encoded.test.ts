import pg from 'pg';
import t from 'tap';
import type { TelemetryEvent } from '../../../index.js';
import { listPartitions, partitionName } from '../../../storage/index.js';
import { withPostgres } from '../../../testing/index.js';
import { event, histogram, logEvent, meta, nowUs, openSink, point, queued } from './testdata/harness.js';

/**
 * The runtime hands the sink its deliveries as queued (`writeEncoded`), decoded while the COPY
 * streams (events.ts): rows are numbered across the batches, and a late row that needs a partition
 * in a later batch than the COPY has reached still lands, once.
 */

const DAY_US = 86_400_000_000;
const count = async (pool: pg.Pool, sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]?.n);

t.test('queued batches: every table written, rejected rows numbered across the batches, a replay writes nothing', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  t.type(sink.writeEncoded, 'function', 'the runtime hands the sink its batches as queued');
  const events: TelemetryEvent[] = [];
  for (let i = 0; i < 5000; i++) events.push(point('m', { series: String(i % 50) }, i));
  events[2500] = logEvent('misrouted');
  events[4001] = point('m', {}, Number.NaN, Number.NaN);
  events.push(histogram('h', {}, { count: 2, sum: 1, buckets: { '1': 2, '+Inf': 2 } }), event('deploy', { v: 1 }));
  const m = meta();
  const first = await sink.writeEncoded(queued(events, 1000), m);
  t.same(
    first?.rejected?.map((r) => r.index),
    [2500, 4001],
    'indexes into the events of all the batches in order',
  );
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 4998);
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_histogram'), 1);
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM events_generic'), 1);
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metric_series'), 51);

  const replay = await sink.writeEncoded(queued(events, 1000), { ...m, attempt: 2 });
  t.same(replay, first, 'the replay reports the same rejected rows');
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 4998, 'and writes nothing');
});

t.test('a late row in a later batch: its partition is made, the delivery planned again, each row written once', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url, retention: { points_days: 30 } });
  await sink.runMaintenance();
  const createdBefore = await counter('partitions_created_total');
  const late = nowUs(-12 * DAY_US);
  const events: TelemetryEvent[] = [];
  // Enough points before it that the COPY is under way when the planner reaches it.
  for (let i = 0; i < 6000; i++) events.push(point('m', { series: String(i % 10) }, i));
  events.push(point('m', { series: 'late' }, -1, late));
  const result = await sink.writeEncoded(queued(events, 1000), meta());
  t.equal(result, undefined, 'nothing rejected');
  t.equal((await counter('partitions_created_total')) - createdBefore, 1);
  t.ok(
    (await listPartitions(db.pool, 'metrics_points')).some((p) => p.name === partitionName('metrics_points', new Date(late / 1000))),
    'the late day has its partition',
  );
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 6001, 'every row once');
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM thermocline_batches'), 1, 'one ledger row');
});
