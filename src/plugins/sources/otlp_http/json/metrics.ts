import { runAtOnce, type Sliced } from '../../../../index.js';
import { unlimited, type ItemLimits } from '../item-limits.js';
import { newDecoded, TEMPORALITY_NAMES, type Decoded } from '../mapping.js';
import { mapMetric, newMetric, resourceLabels, type ExpBuckets, type OtlpMetric, type PointBase } from '../metrics-mapping.js';
import { attributes, resourceAttributes } from './common.js';
import { JsonReader, type JsonObject } from './reader.js';

/** Decode an OTLP/JSON `ExportMetricsServiceRequest` into metric events (same rules as proto/metrics.ts). */
export function decodeMetricsJson(body: unknown, resourceLabelKeys: readonly string[], lim: ItemLimits = unlimited()): Decoded {
  return runAtOnce(metricsJson(body, resourceLabelKeys, lim));
}

/** The same, yielding between data points so that the receiver can decode in slices. */
export function* metricsJson(body: unknown, resourceLabelKeys: readonly string[], lim: ItemLimits): Sliced<Decoded> {
  const out = newDecoded();
  const j = new JsonReader();
  const nowUs = Date.now() * 1000;
  for (const rm of j.items(j.root(body), 'resourceMetrics', 'resource_metrics')) {
    const base = resourceLabels(resourceAttributes(j, rm, lim), resourceLabelKeys);
    for (const sm of j.items(rm, 'scopeMetrics', 'scope_metrics')) {
      for (const m of j.items(sm, 'metrics')) yield* mapMetric(metric(j, m, lim), base, nowUs, out);
    }
  }
  return out;
}

function metric(j: JsonReader, o: JsonObject, lim: ItemLimits): OtlpMetric {
  const m = newMetric();
  m.name = j.string(o, 'name');
  const temporality = (d: JsonObject) => {
    m.temporality = j.enumValue(d, 'aggregationTemporality', 'aggregation_temporality', TEMPORALITY_NAMES);
  };
  j.object(o, 'gauge', undefined, (d) => j.each(d, 'dataPoints', 'data_points', (p) => m.gauges.push({ ...point(j, p, lim), value: numberValue(j, p) })));
  j.object(o, 'sum', undefined, (d) => {
    temporality(d);
    m.monotonic = j.bool(d, 'isMonotonic', 'is_monotonic');
    j.each(d, 'dataPoints', 'data_points', (p) => m.sums.push({ ...point(j, p, lim), value: numberValue(j, p) }));
  });
  j.object(o, 'histogram', undefined, (d) => {
    temporality(d);
    j.each(d, 'dataPoints', 'data_points', (p) =>
      m.histograms.push({
        ...point(j, p, lim),
        count: j.int(p, 'count'),
        sum: j.double(p, 'sum') ?? 0,
        bucketCounts: j.ints(p, 'bucketCounts', 'bucket_counts'),
        bounds: j.doubles(p, 'explicitBounds', 'explicit_bounds'),
      }),
    );
  });
  j.object(o, 'exponentialHistogram', 'exponential_histogram', (d) => {
    temporality(d);
    j.each(d, 'dataPoints', 'data_points', (p) =>
      m.expHistograms.push({
        ...point(j, p, lim),
        count: j.int(p, 'count'),
        sum: j.double(p, 'sum') ?? 0,
        scale: j.int(p, 'scale'),
        zeroCount: j.int(p, 'zeroCount', 'zero_count'),
        zeroThreshold: j.double(p, 'zeroThreshold', 'zero_threshold') ?? 0,
        positive: j.object(p, 'positive', undefined, (b) => buckets(j, b)) ?? { offset: 0, counts: [] },
        negative: j.object(p, 'negative', undefined, (b) => buckets(j, b)) ?? { offset: 0, counts: [] },
      }),
    );
  });
  j.object(o, 'summary', undefined, (d) => {
    j.each(d, 'dataPoints', 'data_points', (p) => {
      const quantiles: Array<{ quantile: number; value: number }> = [];
      j.each(p, 'quantileValues', 'quantile_values', (q) => quantiles.push({ quantile: j.double(q, 'quantile') ?? 0, value: j.double(q, 'value') ?? 0 }));
      m.summaries.push({ ...point(j, p, lim), count: j.int(p, 'count'), sum: j.double(p, 'sum') ?? 0, quantiles });
    });
  });
  return m;
}

/** Counted here, as the protobuf decoder counts data points, so that an oversized request stops early. */
function point(j: JsonReader, p: JsonObject, lim: ItemLimits): PointBase {
  lim.item();
  const base: PointBase = { attrs: {}, timeUs: j.timeUs(p, 'timeUnixNano', 'time_unix_nano'), flags: j.int(p, 'flags') };
  attributes(j, p, 'attributes', base.attrs, lim);
  return base;
}

function numberValue(j: JsonReader, p: JsonObject): number | undefined {
  if (j.get(p, 'asInt', 'as_int') !== undefined) return j.int(p, 'asInt', 'as_int');
  return j.double(p, 'asDouble', 'as_double');
}

function buckets(j: JsonReader, b: JsonObject): ExpBuckets {
  return { offset: j.int(b, 'offset'), counts: j.ints(b, 'bucketCounts', 'bucket_counts') };
}
