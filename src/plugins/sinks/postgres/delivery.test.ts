import pg from 'pg';
import t from 'tap';
import { Delivery } from '../../../index.js';
import { withPostgres } from '../../../testing/index.js';
import { logEvent, meta, openSink, point } from './testdata/harness.js';

/** Exactly once through the ledger, and series resolution through the cache. */

const count = async (pool: pg.Pool, sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]?.n);

t.test('a replayed delivery (same meta) writes nothing and gets the same rejections', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url });
  const events = [point('m', { a: '1' }, 1), logEvent('x'), point('m', { a: '2' }, 2)];
  const m = meta();
  const first = await sink.write(events, m);
  const second = await sink.write(events, { ...m, attempt: 2 });
  t.same(second, first, 'the replay reports the same rejected rows');
  t.equal(first?.rejected?.[0]?.index, 1);
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 2, 'points written once');
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM thermocline_batches'), 1, 'one ledger row');
  t.equal(await counter('replayed_deliveries_total'), 1);
  await sink.write(events, meta());
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 4, 'a new seq is a new delivery');
});

t.test('agents sharing a sink id and a seq do not take each other for replays', async (t) => {
  const db = await withPostgres(t);
  const a = await openSink(t, { url: db.url });
  const b = await openSink(t, { url: db.url });
  // Two agents, two queue databases: the same sink id and seq, different queue instances.
  const seq = 1_700_000_000_000_001;
  await a.sink.write([point('m', { agent: 'a' }, 1)], meta(seq, 'pg', 'aaaaaaaaaaaaaaaa'));
  await b.sink.write([point('m', { agent: 'b' }, 1)], meta(seq, 'pg', 'bbbbbbbbbbbbbbbb'));
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 2, "both agents' points landed");
  const { rows } = await db.pool.query<{ sink: string; seq: string }>('SELECT sink, seq::text FROM thermocline_batches ORDER BY sink');
  t.same(
    rows,
    [
      { sink: 'pg@aaaaaaaaaaaaaaaa', seq: String(seq) },
      { sink: 'pg@bbbbbbbbbbbbbbbb', seq: String(seq) },
    ],
    'ledger rows are the delivery stream "<sink id>@<queue instance>" and its first seq',
  );
  t.same([...a.state.keys()], [], 'the sink keeps no identity of its own');

  // The same queue instance is the same agent: a replay there is recognised, after a restart too.
  const again = await openSink(t, { url: db.url });
  await again.sink.write([point('m', { agent: 'a' }, 1)], meta(seq, 'pg', 'aaaaaaaaaaaaaaaa'));
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 2, 'recognised after a restart');
});

t.test('maintenance prunes the ledger after ledger_retention but keeps the newest row', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url, ledger_retention: '1h' });
  for (let i = 0; i < 3; i++) await sink.write([point('m', {}, i)], meta());
  await db.pool.query(`UPDATE thermocline_batches SET committed_at = now() - interval '2 hours'`);
  await db.pool.query(`INSERT INTO thermocline_batches (sink, seq, committed_at) VALUES ('other/agent', 1, now() - interval '30 days')`);
  await sink.runMaintenance();
  const { rows } = await db.pool.query<{ sink: string; seq: string }>('SELECT sink, seq::text FROM thermocline_batches ORDER BY sink, seq');
  t.equal(rows.length, 2, 'two old rows of this sink pruned');
  t.equal(rows[0]?.sink, 'other/agent', "other agents' rows are theirs to prune");
  t.match(rows[1]?.sink, /^pg@/, 'the newest row of this sink stays');
  t.equal(await counter('ledger_rows_pruned_total'), 2);
});

t.test('gateways writing the same upstream batch: the first commits it, the others are replays', async (t) => {
  const db = await withPostgres(t);
  const a = await openSink(t, { url: db.url });
  const b = await openSink(t, { url: db.url });
  const events = [point('m', { from: 'edge' }, 1), point('m', { from: 'edge' }, 2)];
  // One bus message received by two gateways: their own queues, one origin.
  const origin = 'nats:TELEMETRY:bus@0123456789ab:42';
  await a.sink.write(events, { delivery: new Delivery('pg', 'aaaaaaaaaaaa', 1_000, 1_000, origin), attempt: 1 });
  await b.sink.write(events, { delivery: new Delivery('pg', 'bbbbbbbbbbbb', 9_000, 9_000, origin), attempt: 1 });
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 2, 'stored once');
  t.equal(await b.counter('replayed_deliveries_total'), 1, 'the second gateway recognised it');
  const { rows } = await db.pool.query<{ sink: string; seq: string }>('SELECT sink, seq::text FROM thermocline_batches');
  t.same(rows, [{ sink: `pg@origin:${origin}`, seq: '0' }], 'one ledger row, named by the origin');
  await b.sink.write(events, { delivery: new Delivery('pg', 'bbbbbbbbbbbb', 9_001, 9_001, 'nats:TELEMETRY:bus@0123456789ab:43'), attempt: 1 });
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 4, 'another origin is another batch');
});

t.test('an origin holding quotes and backslashes is stored as it is and recognised on replay', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url });
  // BEGIN and the ledger row go in one simple query, so the origin is a literal there (ledger.ts).
  const origin = String.raw`bus:o'brien\'); DROP TABLE metrics_points; --\x`;
  const m = { delivery: new Delivery('pg', 'aaaaaaaaaaaa', 5, 5, origin), attempt: 1 };
  await sink.write([point('m', {}, 1)], m);
  await sink.write([point('m', {}, 1)], { ...m, attempt: 2 });
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 1, 'written once');
  t.equal(await counter('replayed_deliveries_total'), 1, 'the replay was recognised');
  const { rows } = await db.pool.query<{ sink: string }>('SELECT sink FROM thermocline_batches');
  t.same(rows, [{ sink: `pg@origin:${origin}` }], 'the ledger row names the origin byte for byte');
});

t.test('maintenance prunes upstream-named rows after ledger_retention, newest included', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url, ledger_retention: '1h' });
  for (let i = 0; i < 3; i++) await sink.write([point('m', {}, i)], { delivery: new Delivery('pg', 'aaaaaaaaaaaa', 10 + i, 10 + i, `bus:${i}`), attempt: 1 });
  await db.pool.query(`UPDATE thermocline_batches SET committed_at = now() - interval '2 hours' WHERE sink <> 'pg@origin:bus:2'`);
  await db.pool.query(`INSERT INTO thermocline_batches (sink, seq, committed_at) VALUES ('pgx@origin:bus:1', 0, now() - interval '30 days')`);
  await sink.runMaintenance();
  const { rows } = await db.pool.query<{ sink: string }>('SELECT sink FROM thermocline_batches ORDER BY sink');
  t.same(
    rows.map((r) => r.sink),
    ['pg@origin:bus:2', 'pgx@origin:bus:1'],
    'the two old rows of this sink pruned; the recent one and another sink\'s kept',
  );
  t.equal(await counter('ledger_rows_pruned_total'), 2);
});

t.test('series dedup across deliveries, whatever the label order', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url });
  await sink.write([point('cpu', { host: 'a', core: '0' }, 1), point('cpu', { core: '0', host: 'a' }, 2)], meta());
  await sink.write([point('cpu', { core: '0', host: 'a' }, 3)], meta());
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metric_series'), 1);
  t.equal(await count(db.pool, 'SELECT count(DISTINCT series_id) AS n FROM metrics_points'), 1);
  t.equal(await counter('series_lookups_total'), 1, 'the second delivery was served from the cache');
  t.equal(await counter('series_created_total'), 1);

  // A label set stored in another key order by someone else is the same series (jsonb equality).
  await db.pool.query(`INSERT INTO metric_series (metric_name, labels) VALUES ('mem', '{"z": "1", "a": "2"}')`);
  await sink.write([point('mem', { a: '2', z: '1' }, 1)], meta());
  t.equal(await count(db.pool, `SELECT count(*) AS n FROM metric_series WHERE metric_name = 'mem'`), 1);
  t.equal(await counter('series_created_total'), 1, 'found, not created');
});

t.test('a small cache evicts and still resolves correctly', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url, series_cache_size: 2 });
  for (let round = 0; round < 3; round++) {
    await sink.write(
      ['a', 'b', 'c'].map((h, i) => point('up', { host: h }, round * 10 + i)),
      meta(),
    );
  }
  const { rows } = await db.pool.query<{ host: string; values: number[] }>(
    `SELECT s.labels->>'host' AS host, array_agg(p.value ORDER BY p.value) AS values
       FROM metrics_points p JOIN metric_series s USING (series_id) GROUP BY 1 ORDER BY 1`,
  );
  t.same(rows, [
    { host: 'a', values: [0, 10, 20] },
    { host: 'b', values: [1, 11, 21] },
    { host: 'c', values: [2, 12, 22] },
  ]);
  t.ok((await counter('series_lookups_total')) > 3, 'evicted series were looked up again');
  t.equal(await counter('series_created_total'), 3);
});

t.test('two sinks (two pools) writing the same new series at once create each series once', async (t) => {
  const db = await withPostgres(t);
  const a = await openSink(t, { url: db.url, pool_size: 2 });
  const b = await openSink(t, { url: db.url, pool_size: 2 });
  for (let round = 0; round < 5; round++) {
    const batch = () => Array.from({ length: 300 }, (_, i) => point(`race_${round}`, { i: String(i), n: String(i % 7) }, i));
    const [ra, rb] = await Promise.all([a.sink.write(batch(), meta()), b.sink.write(batch().reverse(), meta())]);
    t.same([ra, rb], [undefined, undefined], `round ${round}: both deliveries complete`);
  }
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metric_series'), 1500, 'one row per series');
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 3000, 'every point landed');
  t.equal(
    await count(db.pool, `SELECT count(*) AS n FROM metrics_points p JOIN metric_series s USING (series_id) WHERE p.value <> (s.labels->>'i')::float8`),
    0,
    'every point references its own series',
  );
  t.equal((await a.counter('series_created_total')) + (await b.counter('series_created_total')), 1500, 'each series created by exactly one of them');
});

t.test('a series inserted by another session during the lookup is read back, not missed', async (t) => {
  const db = await withPostgres(t);
  const { sink, counter } = await openSink(t, { url: db.url });
  const other = new pg.Client({ connectionString: db.url });
  await other.connect();
  t.teardown(() => other.end());
  await other.query('BEGIN');
  const inserted = await other.query<{ series_id: string }>(
    `INSERT INTO metric_series (metric_name, labels) VALUES ('contended', '{"k": "v"}') RETURNING series_id`,
  );
  // The sink's INSERT ... ON CONFLICT waits for this transaction; its snapshot predates the commit.
  const writing = sink.write([point('contended', { k: 'v' }, 1), point('free', { k: 'v' }, 2)], meta());
  await new Promise((r) => setTimeout(r, 300));
  await other.query('COMMIT');
  t.equal(await writing, undefined, 'the delivery completes');
  const { rows } = await db.pool.query<{ series_id: string }>(
    `SELECT p.series_id::text FROM metrics_points p JOIN metric_series s USING (series_id) WHERE s.metric_name = 'contended'`,
  );
  t.same(rows, [{ series_id: inserted.rows[0]?.series_id }], 'the point references the series the other session created');
  t.equal(await counter('series_created_total'), 1, 'only "free" was created by the sink');
});

t.test('a cached series id gone from metric_series clears the cache and retries', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  await sink.write([point('gone', { a: '1' }, 1)], meta());
  await db.pool.query('DELETE FROM metrics_points; DELETE FROM metric_series');
  const m = meta();
  await t.rejects(sink.write([point('gone', { a: '1' }, 2)], m), { name: 'RetryableError', code: 'TC_PG_SINK_UNAVAILABLE', message: /cache was cleared/ });
  t.equal(await sink.write([point('gone', { a: '1' }, 2)], { ...m, attempt: 2 }), undefined, 'the retry resolves the series again');
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metric_series'), 1);
  t.equal(await count(db.pool, 'SELECT count(*) AS n FROM metrics_points'), 1);
});
