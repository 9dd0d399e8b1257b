import t from 'tap';
import { runAtOnce } from '../../../index.js';
import { newDecoded } from './mapping.js';
import { exponentialBuckets, mapMetric, newMetric, promFloat, type ExpHistogramPoint } from './metrics-mapping.js';

t.test('bucket bounds and quantiles are written as Prometheus (Go) writes floats', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0'],
    [0.1, '0.1'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [100000, '100000'],
    [1000000, '1e+06'],
    [2.5e6, '2.5e+06'],
    [1e21, '1e+21'],
    [123456789, '1.23456789e+08'],
    [-0.5, '-0.5'],
    [-1e6, '-1e+06'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ];
  for (const [v, text] of cases) t.equal(promFloat(v), text, String(v));
});

const point = (p: Partial<ExpHistogramPoint>): ExpHistogramPoint => ({
  attrs: {},
  timeUs: 1,
  flags: 0,
  count: 0,
  sum: 0,
  scale: 0,
  zeroCount: 0,
  zeroThreshold: 0,
  positive: { offset: 0, counts: [] },
  negative: { offset: 0, counts: [] },
  ...p,
});

t.test('exponential histograms become cumulative le buckets at base^(index+1)', async (t) => {
  // scale -1: base 4. Positive index 0 is (1, 4], index 1 is (4, 16].
  t.strictSame(exponentialBuckets(point({ scale: -1, count: 3, positive: { offset: 0, counts: [1, 2] } })), { '4': 1, '16': 3, '+Inf': 3 });
  // A zero bucket with a threshold, and negative buckets listed from the most negative.
  t.strictSame(
    exponentialBuckets(
      point({ scale: 0, count: 6, zeroCount: 2, zeroThreshold: 0.001, negative: { offset: 0, counts: [1, 1] }, positive: { offset: -1, counts: [2] } }),
    ),
    { '-2': 1, '-1': 2, '0.001': 4, '1': 6, '+Inf': 6 },
  );
  // Only the +Inf bucket when nothing was recorded.
  t.strictSame(exponentialBuckets(point({})), { '+Inf': 0 });
  // Bounds past the largest double fold into +Inf, which is always the count.
  // scale -10: base 2^1024; index -1 is (2^-1024, 1], index 0's bound 2^1024 overflows.
  t.strictSame(exponentialBuckets(point({ scale: -10, count: 2, positive: { offset: -1, counts: [1, 1] } })), { '1': 1, '+Inf': 2 });
});

t.test('histogram data points that contradict themselves are refused, the rest kept', async (t) => {
  const out = newDecoded();
  const m = newMetric();
  m.name = 'h';
  const base = { attrs: { a: '1' }, timeUs: 5, flags: 0 };
  m.histograms.push(
    { ...base, count: 4, sum: 2, bucketCounts: [], bounds: [] },
    { ...base, count: 2, sum: 2, bucketCounts: [1, 1, 0], bounds: [2, 1] },
    { ...base, count: 2, sum: 2, bucketCounts: [1, 1], bounds: [1] },
    { ...base, count: 0, sum: 0, bucketCounts: [], bounds: [], flags: 1 },
  );
  runAtOnce(mapMetric(m, { service: 's' }, 99, out));
  t.equal(out.rejected, 1);
  t.equal(out.reason, 'metric "h": histogram bounds are not strictly increasing');
  t.strictSame(out.events, [
    { kind: 'metric', name: 'h', type: 'histogram', labels: { service: 's', a: '1' }, time_us: 5, histogram: { count: 4, sum: 2, buckets: { '+Inf': 4 } } },
    {
      kind: 'metric',
      name: 'h',
      type: 'histogram',
      labels: { service: 's', a: '1' },
      time_us: 5,
      histogram: { count: 2, sum: 2, buckets: { '1': 1, '+Inf': 2 } },
    },
  ]);
});

t.test('number points: no value is refused, a data point attribute wins over a resource label, no time means now', async (t) => {
  const out = newDecoded();
  const m = newMetric();
  m.name = 'g';
  m.gauges.push({ attrs: { service: 'mine' }, timeUs: 0, flags: 0, value: 1 }, { attrs: {}, timeUs: 3, flags: 0, value: undefined });
  runAtOnce(mapMetric(m, { service: 's' }, 99, out));
  t.strictSame(out.events, [{ kind: 'metric', name: 'g', type: 'gauge', labels: { service: 'mine' }, time_us: 99, value: 1 }]);
  t.equal(out.rejected, 1);
  t.equal(out.reason, 'metric "g": a data point without a value');
});
