/**
 * The exporter on real engines (embedded PostgreSQL 18, ClickHouse via chdb or CH_URL), plain
 * flavour: backfill, exact values, late points, a crash between the ClickHouse write and the
 * watermark commit, chunking, and the refresh never deleting rollups it cannot recompute.
 */
import t from 'tap';
import type { Json, StateStore } from '../../../index.js';
import { compareRollups } from './compare.js';
import { MINUTE, NOW, assertSameRollups, chBucket, exporterOn, generatePoints, memoryState, minutesAgo, run, targets, writePoints } from './testdata/harness.js';

t.test('a first cycle backfills a day of history in bounded chunks, with progress lines', async (t) => {
  const tg = await targets(t);
  const from = minutesAgo(24 * 60 + 10);
  const to = minutesAgo(10);
  await generatePoints(tg.db, from, to, 12);
  const { exporter, state, logs, registry } = exporterOn(tg, { maxRowsPerCycle: 2000, progressIntervalMs: 0 });
  const report = await run(exporter);
  t.equal(report.from, from, 'starts at the oldest point');
  t.equal(report.to, minutesAgo(1), 'ends at the closed limit (now - end_offset)');
  t.equal(report.rows, 24 * 60 * 12, 'one rollup row per series and minute');
  t.equal(report.buckets, 24 * 60);
  t.equal(report.refreshed, 24 * 60 * 12, 'plain PostgreSQL: metrics_1m refreshed from the points first');
  t.ok(report.chunks >= 24 * 60 * 12 / 2000, `${report.chunks} chunks of at most 2000 rows`);
  t.equal(state.get('watermark'), new Date(minutesAgo(1)).toISOString(), 'the watermark is at the closed limit, readable');
  const progress = logs.lines.filter((l) => String(l.msg).startsWith('exporting metrics_1m: '));
  t.ok(progress.length > 0, 'progress lines');
  t.match(progress[0], { rows: Number, buckets: Number, percent: Number, eta_secs: Number, up_to: String });
  t.match(logs.messages().at(-1), /^exported 17280 metrics_1m rows \(1440 buckets\) in [\d.]+ s, \d+ rows\/s$/);
  t.equal(await assertSameRollups(t, tg, from, to), 24 * 60 * 12);
  const metrics = await registry.text();
  t.match(metrics, /thermocline_component_sent_events_total\{component_id="rollups",component_kind="task",component_type="rollup_exporter"\} 17280/);
  t.match(metrics, /thermocline_rollup_exporter_rows_refreshed_total\{component_id="rollups"\} 17280/);
  t.match(metrics, /thermocline_rollup_exporter_lag_seconds\{component_id="rollups"\} \d/);

  const again = await run(exporter);
  t.equal(again.from, minutesAgo(1) - 5 * MINUTE, 'the next cycle goes back `lateness` behind the watermark, no further');
});

t.test('values and labels arrive exactly: bit-equal doubles, canonical labels', async (t) => {
  const tg = await targets(t);
  const at = minutesAgo(5);
  const doubles = [0.1 + 0.2, 1 / 3, 1e-310, 5e-324, 1.7976931348623157e308, -0, 2 ** 53 + 2, 3.3224244601607735e-16, 1.9493588099078908e-7, 123456.789012345];
  await writePoints(
    tg.db,
    doubles.map((value, i) => ({ name: 'awkward', labels: { i: String(i) }, time: at, value })),
  );
  await writePoints(tg.db, [
    { name: 'special', labels: { kind: 'nan' }, time: at, value: Number.NaN },
    { name: 'special', labels: { kind: 'inf' }, time: at, value: Number.POSITIVE_INFINITY },
    { name: 'special', labels: { kind: 'ninf' }, time: at, value: Number.NEGATIVE_INFINITY },
    { name: 'special', labels: { kind: 'mixed' }, time: at, value: 1 },
    { name: 'special', labels: { kind: 'mixed' }, time: at + 1000, value: Number.POSITIVE_INFINITY },
    { name: 'we"ird\tname\\', labels: { 'a key': 'say "hi"', back: 'a\\b', nl: 'x\ny', uni: 'é€😀', '10': 'ten', '2': 'two', z: '' }, time: at, value: 7 },
  ]);
  const { exporter } = exporterOn(tg);
  await run(exporter);
  await assertSameRollups(t, tg, at, at + MINUTE);
  const awkward = await chBucket(tg, at, 'awkward');
  t.same(
    awkward.map((r) => r.avg_v),
    doubles,
    'every double is the one PostgreSQL holds (labels {"i":"0"} … {"i":"9"} sort in order)',
  );
  const [weird] = await chBucket(tg, at, 'we"ird\tname\\');
  t.equal(weird?.labels, '{"10":"ten","2":"two","a key":"say \\"hi\\"","back":"a\\\\b","nl":"x\\ny","uni":"é€😀","z":""}', 'canonical JSON: sorted keys, no spaces');
  // -0 survives only as a bit pattern: JSON numbers lose its sign, compareRollups does not.
  const result = await compareRollups(tg.pg, tg.chEndpoint, at, at + MINUTE);
  t.equal(result.postgresRows, doubles.length + 5);
});

t.test('late points inside lateness change the exported bucket; later ones change neither copy', async (t) => {
  const tg = await targets(t);
  const bucket = minutesAgo(4);
  const old = minutesAgo(30);
  await writePoints(tg.db, [
    { name: 'cpu', labels: { host: 'a' }, time: bucket, value: 10 },
    { name: 'cpu', labels: { host: 'a' }, time: old, value: 1 },
  ]);
  const { exporter } = exporterOn(tg, { latenessMs: 5 * MINUTE });
  await run(exporter);
  t.same(await chBucket(tg, bucket, 'cpu'), [{ labels: '{"host":"a"}', avg_v: 10, max_v: 10, min_v: 10 }]);

  // Two late points for the bucket, and a new series in it.
  await writePoints(tg.db, [
    { name: 'cpu', labels: { host: 'a' }, time: bucket + 20_000, value: 40 },
    { name: 'cpu', labels: { host: 'a' }, time: bucket + 40_000, value: 1 },
    { name: 'cpu', labels: { host: 'b' }, time: bucket + 1000, value: 5 },
  ]);
  await run(exporter);
  t.same(
    await chBucket(tg, bucket, 'cpu'),
    [
      { labels: '{"host":"a"}', avg_v: 17, max_v: 40, min_v: 1 },
      { labels: '{"host":"b"}', avg_v: 5, max_v: 5, min_v: 5 },
    ],
    'the bucket was refreshed and exported again; FINAL returns only the new version',
  );

  // 30 minutes late is beyond lateness: neither PostgreSQL's metrics_1m nor ClickHouse changes.
  await writePoints(tg.db, [{ name: 'cpu', labels: { host: 'a' }, time: old + 1000, value: 100 }]);
  await run(exporter);
  t.same(await chBucket(tg, old, 'cpu'), [{ labels: '{"host":"a"}', avg_v: 1, max_v: 1, min_v: 1 }]);
  await assertSameRollups(t, tg, old - MINUTE, minutesAgo(0), 'both copies still agree');

  // The repair: an explicit range (the CLI's --from/--to) refreshes and exports it again.
  const repaired = await exporter.exportRange(old, old + MINUTE, new AbortController().signal);
  t.equal(repaired.rows, 1);
  t.same(await chBucket(tg, old, 'cpu'), [{ labels: '{"host":"a"}', avg_v: 50.5, max_v: 100, min_v: 1 }], 'folded in by the repair');
  await assertSameRollups(t, tg, old - MINUTE, minutesAgo(0));
});

t.test('a crash between the ClickHouse write and the watermark commit leaves ClickHouse correct after the next cycle', async (t) => {
  const tg = await targets(t);
  const bucket = minutesAgo(3);
  await writePoints(tg.db, [{ name: 'mem', labels: { host: 'a' }, time: bucket, value: 1 }]);
  const map = new Map<string, Json>();
  let crash = true;
  // The state database refuses the watermark once, as if the process died right after the insert.
  const crashing: StateStore = {
    get: (k) => map.get(k),
    set: (k, v) => {
      if (k === 'watermark' && crash) {
        crash = false;
        throw new Error('killed before the watermark commit');
      }
      map.set(k, v);
    },
    delete: (k) => void map.delete(k),
  };
  const first = exporterOn(tg, { state: crashing });
  await t.rejects(run(first.exporter), /killed before the watermark commit/);
  t.equal(map.get('watermark'), undefined, 'the watermark did not move');
  t.same(await chBucket(tg, bucket, 'mem'), [{ labels: '{"host":"a"}', avg_v: 1, max_v: 1, min_v: 1 }], 'but the rows were written');
  const versionBefore = map.get('version');

  // Meanwhile a late point changes the bucket; then the agent restarts (a new exporter, same state).
  await writePoints(tg.db, [{ name: 'mem', labels: { host: 'a' }, time: bucket + 1000, value: 3 }]);
  const restarted = exporterOn(tg, { state: memoryState(map) });
  const report = await run(restarted.exporter);
  t.equal(report.from, bucket, 'with no watermark the export starts over from the oldest bucket');
  t.ok((map.get('version') as number) > (versionBefore as number), 'a higher version than the crashed export');
  t.same(await chBucket(tg, bucket, 'mem'), [{ labels: '{"host":"a"}', avg_v: 2, max_v: 3, min_v: 1 }], 'FINAL returns the re-export');
  await assertSameRollups(t, tg, bucket - MINUTE, minutesAgo(0));
  t.equal(map.get('watermark'), new Date(minutesAgo(1)).toISOString());
});

t.test('a crash with a watermark: the re-export of [watermark - lateness, …) repairs what the crash left', async (t) => {
  const tg = await targets(t);
  const bucket = minutesAgo(3);
  await writePoints(tg.db, [{ name: 'q', labels: {}, time: minutesAgo(20), value: 1 }]);
  const map = new Map<string, Json>();
  // Five minutes earlier, the watermark reached minutesAgo(6).
  await run(exporterOn(tg, { state: memoryState(map), clock: () => NOW - 5 * MINUTE }).exporter);
  const watermark = map.get('watermark');
  t.equal(watermark, new Date(minutesAgo(6)).toISOString());
  await writePoints(tg.db, [{ name: 'q', labels: {}, time: bucket, value: 5 }]);
  let crash = true;
  const crashing: StateStore = {
    get: (k) => map.get(k),
    set: (k, v) => {
      if (k === 'watermark' && crash) {
        crash = false;
        throw new Error('killed');
      }
      map.set(k, v);
    },
    delete: (k) => void map.delete(k),
  };
  await t.rejects(run(exporterOn(tg, { state: crashing }).exporter), /killed/);
  t.equal(map.get('watermark'), watermark, 'unchanged by the crashed cycle');
  t.same(await chBucket(tg, bucket, 'q'), [{ labels: '{}', avg_v: 5, max_v: 5, min_v: 5 }], 'written before the crash');
  await writePoints(tg.db, [{ name: 'q', labels: {}, time: bucket + 5000, value: 7 }]);
  await run(exporterOn(tg, { state: memoryState(map) }).exporter);
  t.same(await chBucket(tg, bucket, 'q'), [{ labels: '{}', avg_v: 6, max_v: 7, min_v: 5 }]);
  t.equal(map.get('watermark'), new Date(minutesAgo(1)).toISOString());
  await assertSameRollups(t, tg, minutesAgo(30), minutesAgo(0));
});

t.test('chunks: a bucket with more rows than max_rows_per_cycle goes whole; every chunk is one insert', async (t) => {
  const tg = await targets(t);
  const bucket = minutesAgo(10);
  await writePoints(tg.db, [
    ...Array.from({ length: 5 }, (_, i) => ({ name: 'wide', labels: { i: String(i) }, time: bucket, value: i })),
    { name: 'wide', labels: { i: '0' }, time: bucket + MINUTE, value: 1 },
    { name: 'wide', labels: { i: '0' }, time: bucket + 2 * MINUTE, value: 1 },
  ]);
  const { exporter, registry } = exporterOn(tg, { maxRowsPerCycle: 2 });
  const report = await run(exporter);
  t.equal(report.rows, 7);
  t.equal(report.chunks, 2, 'the 5-row bucket alone, then the two 1-row buckets together');
  t.match(await registry.text(), /thermocline_rollup_exporter_chunks_total\{component_id="rollups"\} 2/);
  await assertSameRollups(t, tg, bucket, minutesAgo(0));
});

t.test('the plain refresh never deletes rollups older than the oldest point left', async (t) => {
  const tg = await targets(t);
  // Rollups whose points are gone (past the points' retention, which is shorter than the rollups').
  const old = minutesAgo(3 * 24 * 60);
  await tg.db.pool.query(`INSERT INTO metrics_1m VALUES ($1, 'kept', '{"a": "1"}', 1.5, 2, 1)`, [new Date(old)]);
  await writePoints(tg.db, [{ name: 'fresh', labels: {}, time: minutesAgo(10), value: 3 }]);
  const { exporter } = exporterOn(tg);
  const report = await run(exporter);
  t.equal(report.from, old, 'the backfill starts at the oldest rollup');
  t.equal((await tg.db.pool.query(`SELECT 1 FROM metrics_1m WHERE metric_name = 'kept'`)).rowCount, 1, 'still in PostgreSQL');
  t.same(await chBucket(tg, old, 'kept'), [{ labels: '{"a":"1"}', avg_v: 1.5, max_v: 2, min_v: 1 }], 'and exported');
  await assertSameRollups(t, tg, old, minutesAgo(0));
});

t.test('no data: nothing to do, no watermark', async (t) => {
  const tg = await targets(t);
  const { exporter, state } = exporterOn(tg);
  const report = await run(exporter);
  t.equal(report.rows, 0);
  t.equal(state.get('watermark'), undefined);
});

t.test('the tables are checked before the first export', async (t) => {
  const tg = await targets(t, { migrate: false });
  await t.rejects(run(exporterOn(tg).exporter), { code: 'TC_CAGG_SCHEMA', message: /PostgreSQL \(test\) has no metrics_1m/ });
  await tg.db.pool.query(`CREATE TABLE metrics_1m (bucket timestamptz, metric_name text, labels jsonb, avg_v float8, max_v float8, min_v float8)`);
  await t.rejects(run(exporterOn(tg).exporter), { code: 'TC_CAGG_SCHEMA', message: /metrics_1m .*does not exist: run `thermocline migrate/ });
  // The seed's table: a plain MergeTree without version keeps every re-export.
  await tg.ch.client.command({
    query: `CREATE TABLE ${tg.ch.database}.metrics_1m (bucket DateTime, metric_name LowCardinality(String), labels String, avg_v Float64, max_v Float64, min_v Float64) ENGINE = MergeTree ORDER BY (metric_name, labels, bucket)`,
  });
  await t.rejects(run(exporterOn(tg).exporter), { code: 'TC_CAGG_SCHEMA', message: /is a MergeTree, not a ReplacingMergeTree/ });
  await tg.ch.client.command({ query: `DROP TABLE ${tg.ch.database}.metrics_1m SYNC` });
  await tg.ch.client.command({
    query: `CREATE TABLE ${tg.ch.database}.metrics_1m (bucket DateTime, metric_name String, labels String, avg_v Float32, max_v Float64, min_v Float64) ENGINE = ReplacingMergeTree ORDER BY (metric_name, labels, bucket)`,
  });
  await t.rejects(run(exporterOn(tg).exporter), { code: 'TC_CAGG_SCHEMA', message: /lacks or mistypes avg_v \(Float32\), version \(missing\)/ });
});
