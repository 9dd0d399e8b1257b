import { runAtOnce, type Labels, type Sliced } from '../../../../index.js';
import { unlimited, type ItemLimits } from '../item-limits.js';
import { newDecoded, type Decoded } from '../mapping.js';
import {
  mapMetric,
  newMetric,
  resourceLabels,
  type ExpBuckets,
  type ExpHistogramPoint,
  type HistogramPoint,
  type NumberPoint,
  type OtlpMetric,
  type PointBase,
  type SummaryPoint,
} from '../metrics-mapping.js';
import { attribute, resource } from './common.js';
import {
  I64,
  LEN,
  VARINT,
  createReader,
  enter,
  fixed64,
  leave,
  repeatedDouble,
  repeatedFixed64,
  repeatedUint64,
  sfixed64,
  skip,
  str,
  tag,
  timeUs,
  type Reader,
} from './wire.js';

/*
 * opentelemetry/proto/collector/metrics/v1/metrics_service.proto and metrics/v1/metrics.proto
 * (opentelemetry-proto v1.x). Metrics are decoded into the neutral shapes of
 * metrics-mapping.ts, then mapped once the resource is known.
 */

// ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
const REQUEST_RESOURCE_METRICS = tag(1, LEN);
// ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
const RM_RESOURCE = tag(1, LEN);
const RM_SCOPE_METRICS = tag(2, LEN);
// ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
const SM_METRICS = tag(2, LEN);
// Metric { string name = 1; string description = 2; string unit = 3; oneof data { Gauge gauge = 5; Sum sum = 7;
//   Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
//   repeated KeyValue metadata = 12; }
const METRIC_NAME = tag(1, LEN);
const METRIC_GAUGE = tag(5, LEN);
const METRIC_SUM = tag(7, LEN);
const METRIC_HISTOGRAM = tag(9, LEN);
const METRIC_EXP_HISTOGRAM = tag(10, LEN);
const METRIC_SUMMARY = tag(11, LEN);
// Gauge { repeated NumberDataPoint data_points = 1; }
// Sum { repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; bool is_monotonic = 3; }
// Histogram, ExponentialHistogram { repeated ...DataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }
// Summary { repeated SummaryDataPoint data_points = 1; }
const DATA_POINTS = tag(1, LEN);
const DATA_TEMPORALITY = tag(2, VARINT);
const SUM_MONOTONIC = tag(3, VARINT);
// Every data point: fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
const POINT_TIME = tag(3, I64);
// NumberDataPoint { repeated KeyValue attributes = 7; double as_double = 4; sfixed64 as_int = 6;
//   repeated Exemplar exemplars = 5; uint32 flags = 8; }
const NUMBER_ATTRIBUTES = tag(7, LEN);
const NUMBER_AS_DOUBLE = tag(4, I64);
const NUMBER_AS_INT = tag(6, I64);
const NUMBER_FLAGS = tag(8, VARINT);
// HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 count = 4; optional double sum = 5;
//   repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7; repeated Exemplar exemplars = 8;
//   uint32 flags = 10; optional double min = 11; optional double max = 12; }
const HIST_ATTRIBUTES = tag(9, LEN);
const HIST_COUNT = tag(4, I64);
const HIST_SUM = tag(5, I64);
const HIST_BUCKET_COUNTS = 6;
const HIST_BOUNDS = 7;
const HIST_FLAGS = tag(10, VARINT);
// ExponentialHistogramDataPoint { repeated KeyValue attributes = 1; fixed64 count = 4; optional double sum = 5;
//   sint32 scale = 6; fixed64 zero_count = 7; Buckets positive = 8; Buckets negative = 9; uint32 flags = 10;
//   repeated Exemplar exemplars = 11; optional double min = 12; optional double max = 13; double zero_threshold = 14; }
const EXP_ATTRIBUTES = tag(1, LEN);
const EXP_COUNT = tag(4, I64);
const EXP_SUM = tag(5, I64);
const EXP_SCALE = tag(6, VARINT);
const EXP_ZERO_COUNT = tag(7, I64);
const EXP_POSITIVE = tag(8, LEN);
const EXP_NEGATIVE = tag(9, LEN);
const EXP_FLAGS = tag(10, VARINT);
const EXP_ZERO_THRESHOLD = tag(14, I64);
// ExponentialHistogramDataPoint.Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; }
const BUCKETS_OFFSET = tag(1, VARINT);
const BUCKETS_COUNTS = 2;
// SummaryDataPoint { repeated KeyValue attributes = 7; fixed64 count = 4; double sum = 5;
//   repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8; }
const SUMMARY_ATTRIBUTES = tag(7, LEN);
const SUMMARY_COUNT = tag(4, I64);
const SUMMARY_SUM = tag(5, I64);
const SUMMARY_QUANTILES = tag(6, LEN);
const SUMMARY_FLAGS = tag(8, VARINT);
// ValueAtQuantile { double quantile = 1; double value = 2; }
const QUANTILE_QUANTILE = tag(1, I64);
const QUANTILE_VALUE = tag(2, I64);

/** Decode an `ExportMetricsServiceRequest` body into metric events. Throws on a malformed body. */
export function decodeMetricsProto(body: Buffer, resourceLabelKeys: readonly string[], lim: ItemLimits = unlimited()): Decoded {
  return runAtOnce(metricsProto(body, resourceLabelKeys, lim));
}

/** The same, yielding between data points so that the receiver can decode in slices. */
export function* metricsProto(body: Buffer, resourceLabelKeys: readonly string[], lim: ItemLimits): Sliced<Decoded> {
  const out = newDecoded();
  const r = createReader(body);
  const nowUs = Date.now() * 1000;
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === REQUEST_RESOURCE_METRICS) yield* resourceMetrics(r, out, resourceLabelKeys, nowUs, lim);
    else skip(r, t);
  }
  return out;
}

function* resourceMetrics(r: Reader, out: Decoded, keys: readonly string[], nowUs: number, lim: ItemLimits): Sliced<void> {
  const outer = enter(r);
  const attrs: Labels = {};
  const metrics: OtlpMetric[] = [];
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === RM_RESOURCE) resource(r, attrs, lim);
    else if (t === RM_SCOPE_METRICS) yield* scopeMetrics(r, metrics, lim);
    else skip(r, t);
  }
  leave(r, outer);
  const base = resourceLabels(attrs, keys);
  for (const m of metrics) yield* mapMetric(m, base, nowUs, out);
}

function* scopeMetrics(r: Reader, into: OtlpMetric[], lim: ItemLimits): Sliced<void> {
  const outer = enter(r);
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === SM_METRICS) into.push(yield* metric(r, lim));
    else skip(r, t);
  }
  leave(r, outer);
}

function* metric(r: Reader, lim: ItemLimits): Sliced<OtlpMetric> {
  const outer = enter(r);
  const m = newMetric();
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case METRIC_NAME:
        m.name = str(r);
        break;
      case METRIC_GAUGE:
        yield* dataMessage(r, m, lim, (r) => m.gauges.push(numberPoint(r, lim)));
        break;
      case METRIC_SUM:
        yield* dataMessage(r, m, lim, (r) => m.sums.push(numberPoint(r, lim)));
        break;
      case METRIC_HISTOGRAM:
        yield* dataMessage(r, m, lim, (r) => m.histograms.push(histogramPoint(r, lim)));
        break;
      case METRIC_EXP_HISTOGRAM:
        yield* dataMessage(r, m, lim, (r) => m.expHistograms.push(expHistogramPoint(r, lim)));
        break;
      case METRIC_SUMMARY:
        yield* dataMessage(r, m, lim, (r) => m.summaries.push(summaryPoint(r, lim)));
        break;
      default:
        skip(r, t);
    }
  }
  leave(r, outer);
  return m;
}

/** Gauge, Sum, Histogram, ExponentialHistogram and Summary share data_points = 1 (and temporality = 2). */
function* dataMessage(r: Reader, m: OtlpMetric, lim: ItemLimits, point: (r: Reader) => void): Sliced<void> {
  const outer = enter(r);
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === DATA_POINTS) {
      point(r);
      if (lim.item()) yield;
    } else if (t === DATA_TEMPORALITY) m.temporality = r.int32();
    else if (t === SUM_MONOTONIC) m.monotonic = r.bool();
    else skip(r, t);
  }
  leave(r, outer);
}

function base(): PointBase {
  return { attrs: {}, timeUs: 0, flags: 0 };
}

function numberPoint(r: Reader, lim: ItemLimits): NumberPoint {
  const outer = enter(r);
  let attrs = 0;
  const p: NumberPoint = { ...base(), value: undefined };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case NUMBER_ATTRIBUTES:
        attrs = attribute(r, p.attrs, attrs, lim);
        break;
      case POINT_TIME:
        p.timeUs = timeUs(r);
        break;
      case NUMBER_AS_DOUBLE:
        p.value = r.double();
        break;
      case NUMBER_AS_INT:
        p.value = sfixed64(r);
        break;
      case NUMBER_FLAGS:
        p.flags = r.uint32();
        break;
      default:
        skip(r, t);
    }
  }
  leave(r, outer);
  return p;
}

function histogramPoint(r: Reader, lim: ItemLimits): HistogramPoint {
  const outer = enter(r);
  let attrs = 0;
  const p: HistogramPoint = { ...base(), count: 0, sum: 0, bucketCounts: [], bounds: [] };
  while (r.pos < r.len) {
    const t = r.uint32();
    const field = t >>> 3;
    if (field === HIST_BUCKET_COUNTS && ((t & 7) === LEN || (t & 7) === I64)) repeatedFixed64(r, t, p.bucketCounts);
    else if (field === HIST_BOUNDS && ((t & 7) === LEN || (t & 7) === I64)) repeatedDouble(r, t, p.bounds);
    else if (t === HIST_ATTRIBUTES) attrs = attribute(r, p.attrs, attrs, lim);
    else if (t === POINT_TIME) p.timeUs = timeUs(r);
    else if (t === HIST_COUNT) p.count = fixed64(r);
    else if (t === HIST_SUM) p.sum = r.double();
    else if (t === HIST_FLAGS) p.flags = r.uint32();
    else skip(r, t);
  }
  leave(r, outer);
  return p;
}

function expHistogramPoint(r: Reader, lim: ItemLimits): ExpHistogramPoint {
  const outer = enter(r);
  let attrs = 0;
  const p: ExpHistogramPoint = {
    ...base(),
    count: 0,
    sum: 0,
    scale: 0,
    zeroCount: 0,
    zeroThreshold: 0,
    positive: { offset: 0, counts: [] },
    negative: { offset: 0, counts: [] },
  };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case EXP_ATTRIBUTES:
        attrs = attribute(r, p.attrs, attrs, lim);
        break;
      case POINT_TIME:
        p.timeUs = timeUs(r);
        break;
      case EXP_COUNT:
        p.count = fixed64(r);
        break;
      case EXP_SUM:
        p.sum = r.double();
        break;
      case EXP_SCALE:
        p.scale = r.sint32();
        break;
      case EXP_ZERO_COUNT:
        p.zeroCount = fixed64(r);
        break;
      case EXP_POSITIVE:
        expBuckets(r, p.positive);
        break;
      case EXP_NEGATIVE:
        expBuckets(r, p.negative);
        break;
      case EXP_FLAGS:
        p.flags = r.uint32();
        break;
      case EXP_ZERO_THRESHOLD:
        p.zeroThreshold = r.double();
        break;
      default:
        skip(r, t);
    }
  }
  leave(r, outer);
  return p;
}

function expBuckets(r: Reader, into: ExpBuckets): void {
  const outer = enter(r);
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === BUCKETS_OFFSET) into.offset = r.sint32();
    else if (t >>> 3 === BUCKETS_COUNTS && ((t & 7) === LEN || (t & 7) === VARINT)) repeatedUint64(r, t, into.counts);
    else skip(r, t);
  }
  leave(r, outer);
}

function summaryPoint(r: Reader, lim: ItemLimits): SummaryPoint {
  const outer = enter(r);
  let attrs = 0;
  const p: SummaryPoint = { ...base(), count: 0, sum: 0, quantiles: [] };
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case SUMMARY_ATTRIBUTES:
        attrs = attribute(r, p.attrs, attrs, lim);
        break;
      case POINT_TIME:
        p.timeUs = timeUs(r);
        break;
      case SUMMARY_COUNT:
        p.count = fixed64(r);
        break;
      case SUMMARY_SUM:
        p.sum = r.double();
        break;
      case SUMMARY_QUANTILES: {
        const o = enter(r);
        const q = { quantile: 0, value: 0 };
        while (r.pos < r.len) {
          const f = r.uint32();
          if (f === QUANTILE_QUANTILE) q.quantile = r.double();
          else if (f === QUANTILE_VALUE) q.value = r.double();
          else skip(r, f);
        }
        leave(r, o);
        p.quantiles.push(q);
        break;
      }
      case SUMMARY_FLAGS:
        p.flags = r.uint32();
        break;
      default:
        skip(r, t);
    }
  }
  leave(r, outer);
  return p;
}
