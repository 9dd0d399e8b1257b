/**
 * Typed tables in the postgres sink on embedded PostgreSQL: `"generic": false` keeps a type out of
 * events_generic, a row the server refuses is isolated and dead-lettered while its neighbours are
 * stored, and a replay stores nothing twice and reports the same rows.
 */
import t from 'tap';
import { registerSchema } from '../../../index.js';
import { migratePostgres } from '../../../storage/index.js';
import { withPostgres } from '../../../testing/index.js';
import { event, meta, openSink, nowUs } from './testdata/harness.js';

t.test('generic = false, a refused row isolated, and a replay', async (t) => {
  const db = await withPostgres(t);
  await migratePostgres(db.pool);
  const client = await db.pool.connect();
  await registerSchema(client, 'order.paid', {
    type: 'object',
    properties: { qty: { type: 'integer' }, note: { type: 'string' } },
    'x-thermocline': { table: 'events_paid', generic: false },
  });
  await registerSchema(client, 'order.shipped', { type: 'object', properties: { carrier: { type: 'string' } }, 'x-thermocline': { table: 'events_shipped' } });
  client.release();
  const { sink } = await openSink(t, { url: db.url, migrate: false });

  const events = [
    event('order.paid', { qty: 1, note: 'a' }, nowUs(1)),
    // A JSON integer beyond BIGINT: valid for the schema, refused by the column (SQLSTATE 22003).
    event('order.paid', { qty: 2 ** 70, note: 'too many' }, nowUs(2)),
    event('order.paid', { qty: 3, note: 'c' }, nowUs(3)),
    event('order.shipped', { carrier: 'post' }, nowUs(4)),
    event('deploy', { version: '1.2.3' }, nowUs(5)),
  ];
  const m = meta();
  const first = await sink.write(events, m);
  t.same(first?.rejected?.map((r) => r.index), [1], 'only the refused row is rejected');
  t.match(first?.rejected?.[0]?.reason, /^TC_PG_SINK_ROW_REJECTED: events_paid: .*SQLSTATE 22/);

  const count = async (table: string) => Number((await db.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  t.same((await db.pool.query('SELECT qty, note FROM events_paid ORDER BY qty')).rows, [
    { qty: '1', note: 'a' },
    { qty: '3', note: 'c' },
  ]);
  t.equal(await count('events_shipped'), 1);
  t.same(
    (await db.pool.query('SELECT type FROM events_generic ORDER BY type')).rows.map((r) => r.type),
    ['deploy', 'order.shipped'],
    'order.paid (generic: false) is only in its typed table',
  );

  const replay = await sink.write(events, m);
  t.same(replay?.rejected?.map((r) => r.index), [1], 'a replay reports the same refused row');
  t.same([await count('events_paid'), await count('events_shipped'), await count('events_generic')], [2, 1, 2], 'and stores nothing twice');
});
