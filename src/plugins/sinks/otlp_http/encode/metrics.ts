import type { HistogramValue, MetricEvent } from '../../../../index.js';
import { Grouping, resource, scope, splitOrigin } from './scopes.js';
import { attributes, fixed64Count, fixed64Nanos, newWriter, string, tagI64, tagLen, tagVarint, type Writer } from './wire.js';

const CUMULATIVE = 2; // AggregationTemporality (metrics.proto)

/**
 * Explicit-bucket histogram from our cumulative `le` buckets: bounds sorted numerically, counts
 * turned back into per-bucket counts, the overflow bucket holding what is above the last bound.
 */
export function explicitBuckets(h: HistogramValue): { bounds: number[]; counts: number[] } {
  const entries = Object.entries(h.buckets)
    .map(([le, c]) => [le === '+Inf' ? Infinity : Number(le), c] as const)
    .filter(([le]) => !Number.isNaN(le))
    .sort((a, b) => a[0] - b[0]);
  const bounds: number[] = [];
  const counts: number[] = [];
  let previous = 0;
  for (const [le, cumulative] of entries) {
    if (le === Infinity) continue;
    bounds.push(le);
    counts.push(Math.max(0, cumulative - previous));
    previous = cumulative;
  }
  counts.push(Math.max(0, h.count - previous));
  return { bounds, counts };
}

function numberPoint(w: Writer, m: MetricEvent & { value: number }, attrs: Record<string, string>): void {
  w.uint32(tagLen(1)).fork(); // NumberDataPoint { time_unix_nano = 3; as_double = 4; attributes = 7 }
  fixed64Nanos(w, 3, m.time_us);
  w.uint32(tagI64(4)).double(m.value);
  attributes(w, 7, attrs);
  w.ldelim();
}

function histogramPoint(w: Writer, m: MetricEvent & { histogram: HistogramValue }, attrs: Record<string, string>): void {
  const { bounds, counts } = explicitBuckets(m.histogram);
  w.uint32(tagLen(1)).fork(); // HistogramDataPoint
  fixed64Nanos(w, 3, m.time_us);
  fixed64Count(w, 4, m.histogram.count);
  w.uint32(tagI64(5)).double(m.histogram.sum);
  w.uint32(tagLen(6)).fork(); // bucket_counts, packed fixed64
  for (const c of counts) {
    const v = BigInt(Math.round(c));
    w.fixed64({ low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0, unsigned: true } as never);
  }
  w.ldelim();
  if (bounds.length > 0) {
    w.uint32(tagLen(7)).fork(); // explicit_bounds, packed double
    for (const b of bounds) w.double(b);
    w.ldelim();
  }
  attributes(w, 9, attrs);
  w.ldelim();
}

/**
 * `ExportMetricsServiceRequest { resource_metrics = 1 }`. The label `service` is the resource's
 * `service.name` and `resource.<key>` labels are resource attributes, as the `otlp_http` source
 * writes them. Gauges and summary quantile points are sent as gauges (their `quantile` label
 * kept), counters as monotonic cumulative sums, histograms as explicit-bucket histograms.
 */
export function encodeMetrics(metrics: readonly MetricEvent[]): Uint8Array {
  type Item = { metric: MetricEvent; attrs: Record<string, string> };
  const groups = new Grouping<Item>();
  for (const m of metrics) {
    const { service, ...rest } = m.labels;
    const origin = splitOrigin(rest, service === undefined ? {} : { 'service.name': service });
    groups.add(origin, { metric: m, attrs: origin.own });
  }
  const w = newWriter();
  for (const r of groups.resources.values()) {
    w.uint32(tagLen(1)).fork(); // ResourceMetrics
    resource(w, 1, r.resource);
    for (const s of r.scopes.values()) {
      w.uint32(tagLen(2)).fork(); // ScopeMetrics
      scope(w, 1, s.origin);
      const byMetric = new Map<string, Item[]>();
      for (const item of s.items) {
        const key = `${item.metric.name}\u0000${item.metric.type === 'counter' ? 'sum' : item.metric.type === 'histogram' ? 'histogram' : 'gauge'}`;
        byMetric.set(key, [...(byMetric.get(key) ?? []), item]);
      }
      for (const items of byMetric.values()) {
        const first = (items[0] as Item).metric;
        w.uint32(tagLen(2)).fork(); // Metric { name = 1; gauge = 5; sum = 7; histogram = 9 }
        string(w, 1, first.name);
        const field = first.type === 'counter' ? 7 : first.type === 'histogram' ? 9 : 5;
        w.uint32(tagLen(field)).fork();
        for (const { metric, attrs } of items) {
          if (metric.type === 'histogram') histogramPoint(w, metric, attrs);
          else numberPoint(w, metric, attrs);
        }
        if (field !== 5) w.uint32(tagVarint(2)).int32(CUMULATIVE);
        if (field === 7) w.uint32(tagVarint(3)).bool(true);
        w.ldelim();
        w.ldelim();
      }
      w.ldelim();
    }
    w.ldelim();
  }
  return w.finish();
}
