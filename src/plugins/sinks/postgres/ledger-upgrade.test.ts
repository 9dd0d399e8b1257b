import pg from 'pg';
import t from 'tap';
import { withPostgres } from '../../../testing/index.js';
import type { Json } from '../../../index.js';
import { meta, openSink, point } from './testdata/harness.js';

/*
 * Upgrading from a version that named its ledger rows `<sink id>/<random>` (the random part in the
 * sink state as `ledger_instance`): the delivery in flight at the upgrade stays pinned in the queue
 * and is replayed by the new version under its delivery identity. It must be recognised, or its
 * points would be written twice.
 */

const count = async (pool: pg.Pool, sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]?.n);
const OLD = 'deadbeefdeadbeef';
const QUEUE = '0123456789abcdef';

/** The database as the old version left it: the delivery's points and its ledger row under the old name. */
async function committedByOldVersion(t: Parameters<typeof openSink>[0], url: string, pool: pg.Pool, seq: number, events: ReturnType<typeof point>[]): Promise<void> {
  const old = await openSink(t, { url }, { id: 'pg' });
  await old.sink.write(events, meta(seq, 'pg', 'scratch'));
  await pool.query(`UPDATE thermocline_batches SET sink = $1 WHERE sink = 'pg@scratch'`, [`pg/${OLD}`]);
}

t.test('a delivery committed under the old ledger name is recognised when replayed after the upgrade', async (t) => {
  const db = await withPostgres(t);
  const seq = 1_700_000_000_000_100;
  const events = [point('up', { host: 'a' }, 1), point('up', { host: 'b' }, 2)];
  await committedByOldVersion(t, db.url, db.pool, seq, events);
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 2);

  const state = new Map<string, Json>([['ledger_instance', OLD]]);
  const upgraded = await openSink(t, { url: db.url }, { state });
  t.equal(await upgraded.sink.write(events, meta(seq, 'pg', QUEUE)), undefined);
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 2, 'the replay wrote nothing');
  t.equal(await upgraded.counter('replayed_deliveries_total'), 1, 'counted as a replay');
  t.equal(state.get('ledger_instance'), OLD, 'the old name is kept until a new delivery commits');

  // A crash before the ack replays it once more: still recognised.
  await upgraded.sink.write(events, { ...meta(seq, 'pg', QUEUE), attempt: 2 });
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 2, 'a second replay wrote nothing either');

  await upgraded.sink.write([point('up', { host: 'c' }, 3)], meta(seq + 5, 'pg', QUEUE));
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 3, 'the next delivery is written');
  t.notOk(state.has('ledger_instance'), 'then the old name is retired from the state');
  const { rows } = await db.pool.query<{ sink: string; seq: string }>('SELECT sink, seq::text FROM thermocline_batches ORDER BY seq');
  t.same(rows, [{ sink: `pg@${QUEUE}`, seq: String(seq + 5) }], 'and its rows from the ledger');
});

t.test('after the upgrade, a pinned delivery the old version never committed is written once', async (t) => {
  const db = await withPostgres(t);
  const seq = 1_700_000_000_000_200;
  // The old version committed an earlier delivery; the pinned one failed before its COMMIT.
  await committedByOldVersion(t, db.url, db.pool, seq - 3, [point('up', { host: 'old' }, 0)]);
  const state = new Map<string, Json>([['ledger_instance', OLD]]);
  const upgraded = await openSink(t, { url: db.url }, { state });
  const m = meta(seq, 'pg', QUEUE);
  await upgraded.sink.write([point('up', { host: 'a' }, 1)], m);
  await upgraded.sink.write([point('up', { host: 'a' }, 1)], { ...m, attempt: 2 });
  t.equal(await count(db.pool, `SELECT count(*) AS n FROM metrics_points`), 2, 'written once (the old delivery plus this one)');
  t.notOk(state.has('ledger_instance'), 'the old name is retired');
});

t.test('a sink without an old ledger name never looks for one', async (t) => {
  const db = await withPostgres(t);
  const state = new Map<string, Json>();
  const { sink } = await openSink(t, { url: db.url }, { state });
  await sink.write([point('up', {}, 1)], meta(1_700_000_000_000_300, 'pg', QUEUE));
  t.same([...state.keys()], [], 'nothing stored in the state');
});
