import type { Labels, MetricEvent, Sliced } from '../../../index.js';
import { reject, setKey, type Decoded } from './mapping.js';
import { timeProblem } from './storable.js';

/**
 * OTLP metric data points → metric events (README, "Metrics"). Both decoders fill the neutral
 * shapes below; this module owns the rules. Data points keep their attributes as labels, on
 * top of `service` (resource `service.name`) and the resource attributes the user listed.
 */

export interface PointBase {
  attrs: Labels;
  timeUs: number;
  /** DataPointFlags; bit 0 is FLAG_NO_RECORDED_VALUE (a staleness marker, not a value). */
  flags: number;
}
export interface NumberPoint extends PointBase {
  value: number | undefined;
}
export interface HistogramPoint extends PointBase {
  count: number;
  sum: number;
  bucketCounts: number[];
  bounds: number[];
}
export interface ExpBuckets {
  offset: number;
  counts: number[];
}
export interface ExpHistogramPoint extends PointBase {
  count: number;
  sum: number;
  scale: number;
  zeroCount: number;
  zeroThreshold: number;
  positive: ExpBuckets;
  negative: ExpBuckets;
}
export interface SummaryPoint extends PointBase {
  count: number;
  sum: number;
  quantiles: Array<{ quantile: number; value: number }>;
}

/** One OTLP `Metric`: its name and whichever data it carried. */
export interface OtlpMetric {
  name: string;
  /** Sum only: monotonic and cumulative (AGGREGATION_TEMPORALITY_CUMULATIVE = 2) make a counter. */
  monotonic: boolean;
  temporality: number;
  gauges: NumberPoint[];
  sums: NumberPoint[];
  histograms: HistogramPoint[];
  expHistograms: ExpHistogramPoint[];
  summaries: SummaryPoint[];
}

export function newMetric(): OtlpMetric {
  return { name: '', monotonic: false, temporality: 0, gauges: [], sums: [], histograms: [], expHistograms: [], summaries: [] };
}

const CUMULATIVE = 2;
const NO_RECORDED_VALUE = 1;

/** The labels every point of one resource starts from. */
export function resourceLabels(resource: Labels, keys: readonly string[]): Labels {
  const out: Labels = {};
  const service = resource['service.name'];
  if (service !== undefined && service !== '') out.service = service;
  for (const k of keys) {
    const v = resource[k];
    if (v !== undefined) out[`resource.${k}`] = v;
  }
  return out;
}

/** Yields every few points: a metric may carry tens of thousands, each copying its labels. */
export function* mapMetric(m: OtlpMetric, base: Labels, nowUs: number, out: Decoded): Sliced<void> {
  let n = 0;
  const where = (): string => `metric "${m.name}"`;
  if (m.name === '') {
    const points = m.gauges.length + m.sums.length + m.histograms.length + m.expHistograms.length + m.summaries.length;
    if (points > 0) reject(out, 'a metric without a name', points);
    return;
  }
  // A point whose time cannot be stored is refused with its reason (storable.ts).
  const push = (e: MetricEvent) => {
    const problem = timeProblem(e.time_us, 'time_unix_nano');
    if (problem === '') out.events.push(e);
    else reject(out, `${where()}: ${problem}`);
  };
  const labelsOf = (p: PointBase): Labels => {
    const labels = Object.assign({}, base);
    for (const k of Object.keys(p.attrs)) setKey(labels, k, p.attrs[k] as string);
    return labels;
  };
  const time = (p: PointBase): number => p.timeUs || nowUs;
  for (const p of m.gauges) {
    if ((++n & 31) === 0) yield;
    if (p.flags & NO_RECORDED_VALUE) continue;
    if (p.value === undefined) reject(out, `${where()}: a data point without a value`);
    else push({ kind: 'metric', name: m.name, type: 'gauge', labels: labelsOf(p), time_us: time(p), value: p.value });
  }
  const sumType = m.monotonic && m.temporality === CUMULATIVE ? 'counter' : 'gauge';
  for (const p of m.sums) {
    if ((++n & 31) === 0) yield;
    if (p.flags & NO_RECORDED_VALUE) continue;
    if (p.value === undefined) reject(out, `${where()}: a data point without a value`);
    else push({ kind: 'metric', name: m.name, type: sumType, labels: labelsOf(p), time_us: time(p), value: p.value });
  }
  for (const p of m.histograms) {
    if ((++n & 31) === 0) yield;
    if (p.flags & NO_RECORDED_VALUE) continue;
    const buckets = explicitBuckets(p);
    if (typeof buckets === 'string') reject(out, `${where()}: ${buckets}`);
    else push({ kind: 'metric', name: m.name, type: 'histogram', labels: labelsOf(p), time_us: time(p), histogram: { count: p.count, sum: p.sum, buckets } });
  }
  for (const p of m.expHistograms) {
    if ((++n & 31) === 0) yield;
    if (p.flags & NO_RECORDED_VALUE) continue;
    const buckets = exponentialBuckets(p);
    push({ kind: 'metric', name: m.name, type: 'histogram', labels: labelsOf(p), time_us: time(p), histogram: { count: p.count, sum: p.sum, buckets } });
  }
  for (const p of m.summaries) {
    if ((++n & 31) === 0) yield;
    if (p.flags & NO_RECORDED_VALUE) continue;
    const labels = labelsOf(p);
    const t = time(p);
    for (const q of p.quantiles)
      push({
        kind: 'metric',
        name: m.name,
        type: 'summary',
        labels: withQuantile(labels, promFloat(q.quantile)),
        time_us: t,
        value: q.value,
      });
    // OTLP summaries are cumulative (metrics.proto), so their sum and count are counters.
    push({ kind: 'metric', name: `${m.name}_sum`, type: 'counter', labels, time_us: t, value: p.sum });
    push({ kind: 'metric', name: `${m.name}_count`, type: 'counter', labels, time_us: t, value: p.count });
  }
}

function withQuantile(labels: Labels, quantile: string): Labels {
  const out: Labels = {};
  for (const k of Object.keys(labels)) setKey(out, k, labels[k] as string);
  out.quantile = quantile;
  return out;
}

/** Cumulative `le` buckets of an explicit-bounds histogram, or why the point is invalid. */
function explicitBuckets(p: HistogramPoint): Record<string, number> | string {
  const { bucketCounts: counts, bounds } = p;
  if (counts.length === 0) return { '+Inf': p.count };
  if (counts.length !== bounds.length + 1)
    return `a histogram data point has ${counts.length} bucket counts for ${bounds.length} bounds (expected ${bounds.length + 1})`;
  for (let i = 1; i < bounds.length; i++) {
    if (!((bounds[i] as number) > (bounds[i - 1] as number))) return 'histogram bounds are not strictly increasing';
  }
  const buckets: Record<string, number> = {};
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += counts[i] as number;
    buckets[promFloat(bounds[i] as number)] = cumulative;
  }
  buckets['+Inf'] = cumulative + (counts[bounds.length] as number);
  return buckets;
}

/**
 * An exponential histogram as cumulative `le` buckets (OTLP metrics data model, "Exponential
 * Histogram"): with base = 2^(2^-scale), positive bucket `index` holds values in
 * (base^index, base^(index+1)], so its upper bound is base^(index+1); negative bucket `index`
 * holds [-base^(index+1), -base^index), upper bound -base^index, listed from the most negative.
 * The zero bucket becomes the bound `zero_threshold` (usually 0) when it or a negative bucket
 * holds values. Bounds that overflow a double fold into "+Inf", which is always `count`.
 */
export function exponentialBuckets(p: ExpHistogramPoint): Record<string, number> {
  const factor = Math.pow(2, -p.scale);
  const bound = (index: number) => Math.pow(2, index * factor);
  const buckets: Record<string, number> = {};
  let cumulative = 0;
  const neg = p.negative;
  for (let k = neg.counts.length - 1; k >= 0; k--) {
    cumulative += neg.counts[k] as number;
    const b = -bound(neg.offset + k);
    if (Number.isFinite(b)) buckets[promFloat(b)] = cumulative;
  }
  cumulative += p.zeroCount;
  if (cumulative > 0) buckets[promFloat(p.zeroThreshold)] = cumulative;
  const pos = p.positive;
  for (let k = 0; k < pos.counts.length; k++) {
    cumulative += pos.counts[k] as number;
    const b = bound(pos.offset + k + 1);
    if (!Number.isFinite(b)) break;
    buckets[promFloat(b)] = cumulative;
  }
  buckets['+Inf'] = p.count;
  return buckets;
}

/**
 * A float as Prometheus writes `le` and `quantile` values (Go's strconv 'g' with the shortest
 * representation): `0.1`, `100000`, `1e+06`, `1e-05`, `+Inf`. Matching it keeps bucket keys
 * identical to what the prometheus_scrape source reads from Go exporters.
 */
export function promFloat(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  if (v === 0) return '0';
  const e = v.toExponential();
  const at = e.indexOf('e');
  const exp = Number(e.slice(at + 1));
  if (exp < -4 || exp >= 6) {
    const digits = exp < 0 ? -exp : exp;
    return `${e.slice(0, at)}e${exp < 0 ? '-' : '+'}${digits < 10 ? '0' : ''}${digits}`;
  }
  return String(v);
}
