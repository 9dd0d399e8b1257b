import { randomBytes } from 'node:crypto';
import t from 'tap';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { decodeBatch } from '../../../core/codec/batch.js';
import type { TelemetryEvent } from '../../../index.js';
import { manualSource, manualSources, eventually, startPipeline, withPostgres } from '../../../testing/index.js';
import { event, logEvent, meta, openSink, point } from './testdata/harness.js';

/**
 * A row PostgreSQL rejects goes to the dead-letter table with the server's message while
 * its neighbours land. The values are ones the server really refuses: a business event `type` too
 * large for the (type, ts) index, and a label set too large for metric_series' unique index
 * (both SQLSTATE 54000). Random text, because PostgreSQL compresses repetitive index values.
 */
const huge = () => randomBytes(6000).toString('base64');

t.test('rows the server rejects are dead-lettered with its message; the rest lands', async (t) => {
  const db = await withPostgres(t);
  const { runtime } = await startPipeline(
    t,
    `
[sources.in]
type = "manual"

[sinks.pg]
type = "postgres"
inputs = ["in"]
url = ${JSON.stringify(db.url)}
batch = { max_events = 1000, timeout_secs = 0.05 }
`,
    { extra: [manualSource] },
  );
  await eventually(() => runtime.statuses().find((s) => s.id === 'pg')?.state === 'running', 20_000, 'the sink to run');
  const events: TelemetryEvent[] = [];
  const bad = new Map<number, RegExp>();
  for (let i = 0; i < 40; i++) {
    if (i === 3 || i === 17 || i === 18) {
      bad.set(i, /^TC_PG_SINK_ROW_REJECTED: events_generic: index row size \d+ exceeds btree version 4 maximum 2704 .*\[SQLSTATE 54000\]$/);
      events.push(event(huge(), { i }));
    } else if (i === 25) {
      bad.set(i, /^TC_PG_SINK_ROW_REJECTED: metric_series refused the series: index row size \d+ exceeds btree version 4 maximum 2704 .*\[SQLSTATE 54000\]$/);
      events.push(point('too_big', { blob: huge() }, i));
    } else if (i === 30) {
      bad.set(i, /^TC_PG_SINK_UNSUPPORTED_KIND/);
      events.push(logEvent('misrouted'));
    } else {
      events.push(i % 2 ? event('deploy', { i }) : point('fine', { i: String(i) }, i));
    }
  }
  await manualSources.get('in')?.emit(events);
  await eventually(() => runtime.store.deadLetterCount('pg') > 0, 20_000, 'the dead letter');
  const [dead] = runtime.store.deadLetters('pg');
  const rows = JSON.parse(dead?.rows ?? '[]') as Array<{ index: number; reason: string }>;
  const stored = decodeBatch(dead?.data ?? Buffer.alloc(0));
  t.equal(dead?.events, bad.size, 'only the bad rows are dead-lettered');
  t.equal(rows.length, bad.size);
  [...bad].forEach(([i, reason], n) => {
    t.match(rows[n]?.reason, reason, `event ${i}: ${rows[n]?.reason.slice(0, 120)}`);
    t.same(stored[n], events[i], `event ${i} is kept whole in the dead-letter table`);
  });
  const landed = await db.pool.query<{ p: string; e: string }>(`SELECT (SELECT count(*) FROM metrics_points) AS p, (SELECT count(*) FROM events_generic) AS e`);
  const good = events.filter((_, i) => !bad.has(i));
  t.same(
    landed.rows[0],
    { p: String(good.filter((e) => e.kind === 'metric').length), e: String(good.filter((e) => e.kind === 'event').length) },
    'every good row landed',
  );
  await eventually(() => runtime.queueOf('pg')?.batches === 0, 5000, 'the queue to drain');
  t.equal(runtime.statuses().find((s) => s.id === 'pg')?.state, 'running', 'rejected rows do not degrade the sink');
});

t.test('many scattered bad rows are isolated and the ledger row commits with the good ones', async (t) => {
  const db = await withPostgres(t);
  const { sink } = await openSink(t, { url: db.url });
  const badAt = new Set([0, 1, 2, 50, 51, 99, 120, 121, 122, 123, 199]);
  const events = Array.from({ length: 200 }, (_, i) => event(badAt.has(i) ? huge() : `ok_${i}`, { i }));
  const m = meta();
  const result = await sink.write(events, m);
  t.same(
    result?.rejected?.map((r) => r.index),
    [...badAt].sort((a, b) => a - b),
    'exactly the bad rows are rejected',
  );
  const { rows } = await db.pool.query<{ i: number }>(`SELECT (payload->>'i')::int AS i FROM events_generic ORDER BY 1`);
  t.same(
    rows.map((r) => r.i),
    events.map((_, i) => i).filter((i) => !badAt.has(i)),
    'every good row landed once',
  );
  t.equal((await sink.write(events, m))?.rejected, undefined, 'a replay writes nothing (server rejections are not recomputed)');
  t.equal(Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM events_generic')).rows[0]?.n), 189);
});
