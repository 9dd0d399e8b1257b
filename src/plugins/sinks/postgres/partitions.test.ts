import t from 'tap';
import { withPostgres } from '../../../testing/index.js';
import { listPartitions, partitionName } from '../../../storage/index.js';
import { event, meta, openSink, point } from './testdata/harness.js';

/**
 * Plain PostgreSQL: partitions are created on demand for old and future rows within the
 * window, rows outside it are rejected with a reason, and maintenance drops expired partitions.
 */
const DAY_US = 86_400_000_000;

t.test('partitions are created on demand within the window; rows outside it are rejected', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url, max_future: '7d', retention: { points_days: 30, events_days: 30 } });
  await sink.runMaintenance(); // let the start's pass finish, so the counts below are this test's
  const createdBefore = await counter('partitions_created_total');
  const now = Date.now() * 1000;
  const at = { old: now - 20 * DAY_US, future: now + 5 * DAY_US, tooFar: now + 30 * DAY_US, expired: now - 40 * DAY_US, eventOld: now - 10 * DAY_US };
  const result = await sink.write(
    [
      point('m', {}, 1, at.old),
      point('m', {}, 2, at.future),
      point('m', {}, 3, at.tooFar),
      point('m', {}, 4, at.expired),
      event('deploy', {}, at.eventOld),
      point('m', {}, 5, 5e18),
      point('m', {}, 6, 1e19),
    ],
    meta(),
  );
  t.same(
    result?.rejected?.map((r) => r.index),
    [2, 3, 5, 6],
    "too far ahead, older than retention, beyond PostgreSQL's range and beyond int64 are rejected",
  );
  t.match(
    result?.rejected?.pop()?.reason,
    /^TC_PG_SINK_INVALID_VALUE: metric "m": time_us 10000000000000000000 is outside the range of a PostgreSQL timestamp/,
  );
  for (const r of result?.rejected ?? [])
    t.match(
      r.reason,
      /^TC_PG_SINK_PARTITION_WINDOW: metrics_points has no partition for \S+, and the sink creates them only for \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d/,
    );
  const points = (await listPartitions(db.pool, 'metrics_points')).map((p) => p.name);
  t.ok(points.includes(partitionName('metrics_points', new Date(at.old / 1000))), '20 days old: created');
  t.ok(points.includes(partitionName('metrics_points', new Date(at.future / 1000))), '5 days ahead: created');
  t.notOk(points.includes(partitionName('metrics_points', new Date(at.tooFar / 1000))), '30 days ahead: not created');
  const events = (await listPartitions(db.pool, 'events_generic')).map((p) => p.name);
  t.ok(events.includes(partitionName('events_generic', new Date(at.eventOld / 1000))), 'events_generic too');
  t.equal((await counter('partitions_created_total')) - createdBefore, 3);
  const { rows } = await db.pool.query<{ value: number }>('SELECT value FROM metrics_points ORDER BY value');
  t.same(
    rows.map((r) => r.value),
    [1, 2],
  );
});

t.test('maintenance drops partitions past retention and creates the coming days', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url, retention: { points_days: 30, partition_premake_days: 3 } });
  await sink.runMaintenance();
  const now = Date.now() * 1000;
  await sink.write([point('m', {}, 1, now - 20 * DAY_US), point('m', {}, 2, now)], meta());
  const oldName = partitionName('metrics_points', new Date((now - 20 * DAY_US) / 1000));
  t.ok((await listPartitions(db.pool, 'metrics_points')).some((p) => p.name === oldName));

  const later = new Date(now / 1000 + 15 * 86_400_000);
  await sink.runMaintenance(later);
  const names = (await listPartitions(db.pool, 'metrics_points')).map((p) => p.name);
  t.notOk(names.includes(oldName), 'the partition 35 days before "later" was dropped');
  t.ok(names.includes(partitionName('metrics_points', new Date(later.getTime() + 3 * 86_400_000))), 'partitions premade 3 days after "later"');
  t.ok((await counter('partitions_dropped_total')) >= 1);
  const { rows } = await db.pool.query<{ value: number }>('SELECT value FROM metrics_points');
  t.same(
    rows.map((r) => r.value),
    [2],
    'its rows went with it',
  );
});

t.test("a partition dropped behind the sink's back is recreated on retry, not taken for bad rows", async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  await sink.runMaintenance();
  const when = Date.now() * 1000 - 10 * DAY_US;
  await sink.write([point('m', {}, 1, when)], meta());
  await db.pool.query(`DROP TABLE ${partitionName('metrics_points', new Date(when / 1000))}`);
  const m = meta();
  await t.rejects(sink.write([point('m', {}, 2, when)], m), { name: 'RetryableError', message: /partition the delivery needs was dropped/ });
  t.equal(await sink.write([point('m', {}, 2, when)], { ...m, attempt: 2 }), undefined, 'the retry recreates it');
  const { rows } = await db.pool.query<{ value: number }>('SELECT value FROM metrics_points');
  t.same(
    rows.map((r) => r.value),
    [2],
  );
});
