import t from 'tap';
import type { MetricEvent, TelemetryEvent } from '../../../index.js';
import { metric } from '../_shared/testdata/events.js';
import { canonicalizeLabelsConfig } from './config.js';
import { LabelRewriter } from './label-rewriter.js';
import { hashLabels } from './series-hash.js';
import { SeriesTracker } from './series-tracker.js';
import { build } from './testdata/harness.js';

const series = (name: string, user: string, extra: Record<string, string> = {}): MetricEvent => metric({ name, labels: { code: '200', user, ...extra } });
const users = (name: string, from: number, n: number) => Array.from({ length: n }, (_, i) => series(name, `u${from + i}`));
const labelsOf = (events: TelemetryEvent[]) => events.map((e) => (e as MetricEvent).labels);

t.test('on_limit = "drop": new series beyond the limit are dropped, known ones and other metrics go on', async (t) => {
  const { run, registry, ctx, logs } = build({ max_series_per_metric: 3, on_limit: 'drop' });
  t.same(labelsOf(run(users('logins_total', 0, 3))), labelsOf(users('logins_total', 0, 3)), 'the first 3 series are admitted');
  const out = run([series('logins_total', 'u9'), series('logins_total', 'u1'), series('other_total', 'u9'), series('logins_total', 'u10')]);
  t.same(
    out.map((e) => [(e as MetricEvent).name, (e as MetricEvent).labels.user]),
    [
      ['logins_total', 'u1'],
      ['other_total', 'u9'],
    ],
  );
  t.same(Object.fromEntries(ctx.metrics.stats.dropped), { cardinality_limit: 2 });
  const text = await registry.text();
  t.match(text, /thermocline_canonicalize_labels_series_over_limit_total\{component_id="labels"\} 2/);
  t.match(text, /thermocline_canonicalize_labels_tracked_series\{component_id="labels"\} 4/);
  t.match(text, /thermocline_canonicalize_labels_tracked_metrics\{component_id="labels"\} 2/);
  const warnings = logs.lines.filter((l) => l.code === 'TC_CARDINALITY_LIMIT');
  t.equal(warnings.length, 1, 'the limit is logged once per metric, not per event');
  t.match(warnings[0], {
    metric: 'logins_total',
    max_series_per_metric: 3,
    msg: 'metric "logins_total" reached max_series_per_metric (3); new series are dropped',
  });
});

t.test('the guard sees series after canonicalization: label order and whitespace do not make new series', async (t) => {
  const { run } = build({ max_series_per_metric: 1, on_limit: 'drop' });
  const out = run([metric({ labels: { a: '1', b: '2' } }), metric({ labels: { b: '2', a: '1' } }), metric({ labels: { ' b': '2 ', a: '1', empty: '' } })]);
  t.equal(out.length, 3);
});

t.test('on_limit = "pass" lets everything through and counts', async (t) => {
  const { run, registry, logs } = build({ max_series_per_metric: 2, on_limit: 'pass' });
  const batch = users('m', 0, 5);
  t.equal(run(batch).length, 5);
  t.match(await registry.text(), /series_over_limit_total\{component_id="labels"\} 3/);
  t.match(logs.messages(), ['metric "m" reached max_series_per_metric (2); new series pass on (on_limit = "pass")']);
});

t.test('on_limit = "drop_label:<name>" collapses the exploding label, within an overflow allowance', async (t) => {
  const { run, registry, ctx } = build({ max_series_per_metric: 2, on_limit: 'drop_label:user' });
  t.equal(run(users('m', 0, 2)).length, 2);
  // Over the limit: u2.. lose `user`; {code=200} is one new series in the allowance.
  const out = run([...users('m', 2, 3), metric({ name: 'm', labels: { code: '500', user: 'x' } }), metric({ name: 'm', labels: { code: '404', other: 'y' } })]);
  t.same(labelsOf(out), [{ code: '200' }, { code: '200' }, { code: '200' }, { code: '500' }], 'reduced series pass; the one without `user` is dropped');
  // The allowance is another 2 series: {code=200} and {code=500} used it up.
  const more = run([metric({ name: 'm', labels: { code: '503', user: 'z' } }), metric({ name: 'm', labels: { code: '200', user: 'w' } })]);
  t.same(labelsOf(more), [{ code: '200' }], 'a reduced series that no longer fits is dropped; known reduced series still pass');
  t.same(Object.fromEntries(ctx.metrics.stats.dropped), { cardinality_limit: 2 });
  t.match(await registry.text(), /limit_label_removed_total\{component_id="labels"\} 5/);
});

t.test('max_series_per_metric = 0 disables the guard; so does leaving metrics out of applies_to', async (t) => {
  t.equal(build({ max_series_per_metric: 0, on_limit: 'drop' }).run(users('m', 0, 50)).length, 50);
  t.equal(build({ max_series_per_metric: 1, on_limit: 'drop', applies_to: ['log'] }).run(users('m', 0, 50)).length, 50);
});

/** Feed `total` distinct series over `names` metric names through a tracker; report peaks. */
function explode(tracker: SeriesTracker, names: number, total: number, limit: number) {
  let peakSeries = 0;
  let peakMetrics = 0;
  let admitted = 0;
  for (let n = 0; n < total; n++) {
    if (n % 1000 === 0) tracker.nextBatch();
    if (tracker.admit(`metric_${n % names}`, hashLabels({ code: '200', user: `u${n}` }), limit)) admitted++;
    if (n % 1000 === 999) {
      peakSeries = Math.max(peakSeries, tracker.trackedSeries);
      peakMetrics = Math.max(peakMetrics, tracker.trackedMetrics);
    }
  }
  return { peakSeries, peakMetrics, admitted };
}

t.test('a label explosion of 1,000,000 distinct series: the tracker stays at its bound and admits exactly the limit', async (t) => {
  const tracker = new SeriesTracker(50, 20_000);
  const { peakSeries, peakMetrics, admitted } = explode(tracker, 20, 1_000_000, 1000);
  t.equal(admitted, 20 * 1000, '20 metrics x max_series_per_metric');
  t.equal(peakSeries, 20_000, 'tracked entries never exceed max_tracked_series');
  t.equal(peakMetrics, 20);
  t.equal(tracker.evictions, 0);
});

t.test('more active metric names than max_tracked_metrics: memory stays bounded, metrics are forgotten and counted', async (t) => {
  // The guard cannot remember more names than it may track: with 200 names rotating through 50
  // slots each name is forgotten before it returns. Memory still holds; evictions say why the
  // guard let series through (README: size max_tracked_metrics above the number of metric names).
  const tracker = new SeriesTracker(50, 20_000);
  const { peakSeries, peakMetrics } = explode(tracker, 200, 1_000_000, 1000);
  t.ok(peakMetrics <= 50, `tracked metrics peaked at ${peakMetrics}`);
  t.ok(peakSeries <= 20_000, `tracked series peaked at ${peakSeries}`);
  t.ok(tracker.evictions > 900_000, `${tracker.evictions} evictions`);
});

t.test('through the transform: a 1,000,000-series explosion on one metric is held at the limit', async (t) => {
  const { run, registry } = build({ max_series_per_metric: 1000, on_limit: 'drop', max_tracked_series: 5000 });
  let passed = 0;
  for (let b = 0; b < 1000; b++) {
    const batch: TelemetryEvent[] = new Array(1000);
    for (let i = 0; i < 1000; i++) batch[i] = metric({ name: 'api_requests_total', labels: { path: `/users/${b * 1000 + i}`, method: 'GET' } });
    passed += run(batch).length;
  }
  t.equal(passed, 1000, 'exactly max_series_per_metric series reached the output');
  const text = await registry.text();
  t.match(text, /tracked_series\{component_id="labels"\} 1000\n/);
  t.match(text, /series_over_limit_total\{component_id="labels"\} 999000\n/);
});

t.test('with the defaults, a 1,000,000-series burst on one metric is capped at 10,000 series, counted, and alarmed once', async (t) => {
  const { run, registry, ctx, logs } = build();
  let passed = 0;
  let peakTracked = 0;
  for (let b = 0; b < 1000; b++) {
    const batch: TelemetryEvent[] = new Array(1000);
    for (let i = 0; i < 1000; i++) batch[i] = metric({ name: 'scrape_exploding', labels: { id: String(b * 1000 + i), job: 'target' } });
    passed += run(batch).length;
    if (b % 100 === 99) peakTracked = Math.max(peakTracked, Number(/tracked_series\{component_id="labels"\} (\d+)/.exec(await registry.text())?.[1]));
  }
  t.equal(passed, 10_000, 'only the default max_series_per_metric series go on to the queue');
  t.equal(peakTracked, 10_000, 'the guard never holds more than the cap for one metric: memory does not grow with the burst');
  t.same(Object.fromEntries(ctx.metrics.stats.dropped), { cardinality_limit: 990_000 });
  const text = await registry.text();
  t.match(text, /series_over_limit_total\{component_id="labels"\} 990000\n/);
  t.match(text, /metrics_over_limit\{component_id="labels"\} 1\n/);
  const warnings = logs.lines.filter((l) => l.code === 'TC_CARDINALITY_LIMIT');
  t.equal(warnings.length, 1, 'one warning, not one per dropped event');
  t.match(warnings[0], { metric: 'scrape_exploding', on_limit: 'drop', msg: /metric "scrape_exploding" reached max_series_per_metric \(10000\); new series are dropped/ });
  const more = run([metric({ name: 'scrape_exploding', labels: { id: '5', job: 'target' } }), metric({ name: 'healthy', labels: { id: 'x' } })]);
  t.equal(more.length, 2, 'a known series of the capped metric and other metrics still pass');
});

t.test('metrics_over_limit falls when an exploding metric is forgotten', async (t) => {
  const tracker = new SeriesTracker(2, 100);
  tracker.nextBatch();
  t.ok(tracker.admit('a', 1, 1));
  t.notOk(tracker.admit('a', 2, 1));
  t.ok(tracker.firstRefusal('a'));
  t.notOk(tracker.firstRefusal('a'), 'reported once');
  t.equal(tracker.overLimit, 1);
  tracker.nextBatch();
  t.ok(tracker.admit('b', 1, 1));
  t.ok(tracker.admit('c', 1, 1), 'a third metric evicts a, the least recent');
  t.equal(tracker.overLimit, 0);
});

t.test('the least recently seen metric is forgotten first, and starts afresh when it returns', async (t) => {
  const tracker = new SeriesTracker(2, 100);
  const h = (s: string) => hashLabels({ s });
  tracker.nextBatch();
  t.ok(tracker.admit('a', h('1'), 1));
  t.ok(tracker.admit('b', h('1'), 1));
  tracker.nextBatch();
  t.ok(tracker.admit('a', h('1'), 1), 'a is seen again: now b is the least recent');
  tracker.nextBatch();
  t.ok(tracker.admit('c', h('1'), 1), 'a third metric evicts b');
  t.equal(tracker.trackedMetrics, 2);
  t.equal(tracker.evictions, 1);
  t.notOk(tracker.admit('a', h('2'), 1), 'a kept its memory: a second series is over its limit');
  t.ok(tracker.admit('b', h('2'), 1), 'b was forgotten: a new series fits again');
});

t.test('the series bound evicts other metrics, never the one being admitted', async (t) => {
  const tracker = new SeriesTracker(10, 4);
  const h = (s: string) => hashLabels({ s });
  for (const s of ['1', '2', '3']) tracker.admit('old', h(s), 10);
  tracker.nextBatch();
  t.ok(tracker.admit('new', h('1'), 10));
  t.ok(tracker.admit('new', h('2'), 10), 'room is made by forgetting "old"');
  t.equal(tracker.trackedSeries, 2);
  t.equal(tracker.trackedMetrics, 1);
  for (const s of ['3', '4']) t.ok(tracker.admit('new', h(s), 10));
  t.notOk(tracker.admit('new', h('5'), 10), 'alone and at the series bound: refused, not grown');
  t.equal(tracker.trackedSeries, 4);
});

t.test('series hashes tell apart label sets that concatenate alike, and spread well', async (t) => {
  t.not(hashLabels({ a: 'bc' }), hashLabels({ ab: 'c' }));
  t.not(hashLabels({ a: '', b: '' }), hashLabels({ ab: '' }));
  t.not(hashLabels({}), hashLabels({ '': '' }));
  t.not(hashLabels({ a: 'b' }), hashLabels({ b: 'a' }));
  t.equal(hashLabels({ a: '1', b: '2' }), hashLabels({ a: '1', b: '2' }));
  const seen = new Set<number>();
  for (let i = 0; i < 200_000; i++) seen.add(hashLabels({ user: `u${i}`, code: '200' }));
  t.equal(seen.size, 200_000, 'no collisions among 200,000 similar label sets');
  t.ok(
    [...seen].every((x) => Number.isSafeInteger(x) && x >= 0),
    'hashes are non-negative safe integers',
  );
  const lanes = new Set([...seen].map((x) => x % 0x200000));
  t.ok(lanes.size > 180_000, 'the low lane alone spreads too');
});

t.test('the hash the rewriter computes on the way equals the hash of the labels it returns', async (t) => {
  const configs = [
    {},
    { add: { env: 'prod', zone: 'a' } },
    { add: { env: 'prod' }, add_mode: 'overwrite' },
    { key_case: 'lower', sanitize_names: 'prometheus', drop: ['pid'] },
  ];
  const inputs = [{ a: '1', b: '2' }, { b: '2', a: '1' }, { env: 'dev', Host: 'x', host: 'y', pid: '7', 'k.v': ' z ', empty: '' }, {}, { zone: 'b', m: 'GET' }];
  for (const options of configs) {
    const rewriter = new LabelRewriter(canonicalizeLabelsConfig.parse(options), options.sanitize_names === 'prometheus', { truncated: 0, collisions: 0 }, true);
    for (const labels of inputs as Array<Record<string, string>>) {
      for (let pass = 0; pass < 2; pass++) {
        const out = rewriter.rewrite({ ...labels });
        t.equal(rewriter.seriesHash, hashLabels(out), `${JSON.stringify(options)} ${JSON.stringify(labels)} pass ${pass}`);
        rewriter.rewrite(out);
        t.equal(rewriter.seriesHash, hashLabels(out), 'and on the already-canonical path');
      }
    }
  }
});

t.test('forgetting metrics is counted and logged (rate-limited) with its own code', async (t) => {
  const { run, registry, logs } = build({ max_series_per_metric: 10, max_tracked_metrics: 2, max_tracked_series: 100 });
  for (let i = 0; i < 10; i++) run([series(`m${i}`, 'u')]);
  t.match(await registry.text(), /tracker_evictions_total\{component_id="labels"\} 8/);
  t.match(await registry.text(), /tracked_metrics\{component_id="labels"\} 2/);
  const lines = logs.lines.filter((l) => l.code === 'TC_CARDINALITY_TRACKER_FULL');
  t.equal(lines.length, 5, 'at most 5 lines a minute');
  t.match(lines[0], { evicted: 1, max_tracked_metrics: 2 });
});
