/**
 * The official OpenTelemetry JS SDK and OTLP/HTTP exporters (protobuf and JSON variants) export
 * to the receiver through the real runtime; the events the sink receives are asserted exactly.
 */
import t from 'tap';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type HrTime } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter as LogsJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as MetricsJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as TracesJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TracesProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type IdGenerator } from '@opentelemetry/sdk-trace-base';
import type { LogEvent, MetricEvent, SpanEvent } from '../../../index.js';
import { startReceiver } from './testdata/harness.js';

const resource = resourceFromAttributes({ 'service.name': 'checkout', 'host.name': 'web-1', 'deployment.environment': 'test' });
const TRACE = '5b8efff798038103d269b633813fc60c';
const OTHER_TRACE = '0af7651916cd43dd8448eb211c80319c';

/** Ids in creation order, so the expected events can be written down. */
class SequentialIds implements IdGenerator {
  private n = 0;
  generateTraceId(): string {
    return TRACE;
  }
  generateSpanId(): string {
    return (++this.n).toString(16).padStart(16, 'a');
  }
}

const hr = (sec: number, ns: number): HrTime => [sec, ns];
const exported = (fn: (done: (r: ExportResult) => void) => void): Promise<ExportResult> => new Promise((resolve) => fn(resolve));

function makeSpans() {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, idGenerator: new SequentialIds(), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('shop', '2.0.0');
  const attributes: Attributes = { 'http.request.method': 'GET', 'http.response.status_code': 500, retry: false, ratio: 0.25, tags: ['a', 'b'] };
  const parent = tracer.startSpan('GET /cart', { kind: SpanKind.SERVER, startTime: hr(1_700_000_000, 123_456_789), attributes });
  parent.addEvent('exception', { 'exception.type': 'PaymentError', 'exception.message': 'card declined' }, hr(1_700_000_000, 200_000_001));
  parent.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed' });
  const child = tracer.startSpan(
    'SELECT carts',
    {
      kind: SpanKind.CLIENT,
      startTime: hr(1_700_000_000, 130_000_000),
      links: [{ context: { traceId: OTHER_TRACE, spanId: 'b7ad6b7169203331', traceFlags: 1 }, attributes: { reason: 'retry' } }],
    },
    trace.setSpan(ROOT_CONTEXT, parent),
  );
  child.addEvent('cache miss', { key: 'cart:42' }, hr(1_700_000_000, 131_000_000));
  child.setStatus({ code: SpanStatusCode.OK });
  child.end(hr(1_700_000_000, 190_000_500));
  parent.end(hr(1_700_000_000, 223_456_789));
  return memory.getFinishedSpans();
}

const inheritedSpanAttr = { 'scope.name': 'shop', 'scope.version': '2.0.0', 'resource.host.name': 'web-1', 'resource.deployment.environment': 'test' };

const expectedSpans: SpanEvent[] = [
  {
    kind: 'span',
    trace_id: TRACE,
    span_id: 'aaaaaaaaaaaaaaa2',
    parent_span_id: 'aaaaaaaaaaaaaaa1',
    service: 'checkout',
    name: 'SELECT carts',
    start_us: 1_700_000_000_130_000,
    end_us: 1_700_000_000_190_000,
    duration_ns: 60_000_500,
    status_code: 'OK',
    status_message: '',
    attr: {
      ...inheritedSpanAttr,
      'span.kind': 'client',
      'span.links': JSON.stringify([{ trace_id: OTHER_TRACE, span_id: 'b7ad6b7169203331', attributes: { reason: 'retry' } }]),
    },
    events: [{ time_us: 1_700_000_000_131_000, name: 'cache miss', attr: { key: 'cart:42' } }],
  },
  {
    kind: 'span',
    trace_id: TRACE,
    span_id: 'aaaaaaaaaaaaaaa1',
    parent_span_id: '',
    service: 'checkout',
    name: 'GET /cart',
    start_us: 1_700_000_000_123_456,
    end_us: 1_700_000_000_223_456,
    duration_ns: 100_000_000,
    status_code: 'ERROR',
    status_message: 'payment failed',
    attr: {
      ...inheritedSpanAttr,
      'http.request.method': 'GET',
      'http.response.status_code': '500',
      retry: 'false',
      ratio: '0.25',
      tags: '["a","b"]',
      'span.kind': 'server',
    },
    events: [{ time_us: 1_700_000_000_200_000, name: 'exception', attr: { 'exception.type': 'PaymentError', 'exception.message': 'card declined' } }],
  },
];

for (const [variant, Exporter, options] of [
  ['protobuf', TracesProto, {}],
  ['JSON', TracesJson, {}],
  ['gzipped protobuf', TracesProto, { compression: 'gzip' }],
  ['gzipped JSON', TracesJson, { compression: 'gzip' }],
] as const) {
  t.test(`traces from the ${variant} exporter become span events with their events, errors, kinds and links`, async (t) => {
    const rx = await startReceiver(t);
    const exporter = new Exporter({ url: `${rx.base}/v1/traces`, ...(options as object) });
    t.teardown(() => exporter.shutdown());
    const result = await exported((done) => exporter.export(makeSpans(), done));
    t.equal(result.code, ExportResultCode.SUCCESS, String(result.error ?? ''));
    t.strictSame(await rx.waitFor(2), expectedSpans);
  });
}

t.test('a bearer token configured on the receiver is required, and the exporter sending it gets through', async (t) => {
  const rx = await startReceiver(t, '[sources.otlp.auth]\nbearer_token = "s3cret"');
  const good = new TracesProto({ url: `${rx.base}/v1/traces`, headers: { Authorization: 'Bearer s3cret' } });
  const bad = new TracesProto({ url: `${rx.base}/v1/traces`, headers: { Authorization: 'Bearer nope' } });
  t.teardown(() => Promise.all([good.shutdown(), bad.shutdown()]));
  const refused = await exported((done) => bad.export(makeSpans(), done));
  t.equal(refused.code, ExportResultCode.FAILED);
  t.match(String(refused.error), /Unauthorized/);
  const accepted = await exported((done) => good.export(makeSpans(), done));
  t.equal(accepted.code, ExportResultCode.SUCCESS);
  t.strictSame(await rx.waitFor(2), expectedSpans);
});

function makeLogs() {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor(memory)] });
  const logger = provider.getLogger('shop-logs', '1.0.0');
  const spanContext = { traceId: TRACE, spanId: 'aaaaaaaaaaaaaaa1', traceFlags: 1 };
  logger.emit({
    timestamp: hr(1_700_000_001, 5_000),
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: 'payment failed',
    attributes: { 'order.id': 42, user: 'u1' },
    context: trace.setSpanContext(ROOT_CONTEXT, spanContext),
  });
  logger.emit({
    timestamp: hr(1_700_000_002, 0),
    severityNumber: SeverityNumber.WARN2,
    body: { code: 7, slow: true, parts: ['db', 'cache'] },
    eventName: 'checkout.slow',
  });
  return memory.getFinishedLogRecords();
}

const inheritedLogLabels = { 'scope.name': 'shop-logs', 'scope.version': '1.0.0', 'resource.deployment.environment': 'test' };
const expectedLogs: LogEvent[] = [
  {
    kind: 'log',
    time_us: 1_700_000_001_000_005,
    service: 'checkout',
    host: 'web-1',
    level: 'error',
    trace_id: TRACE,
    span_id: 'aaaaaaaaaaaaaaa1',
    message: 'payment failed',
    labels: { ...inheritedLogLabels, 'order.id': '42', user: 'u1' },
  },
  {
    kind: 'log',
    time_us: 1_700_000_002_000_000,
    service: 'checkout',
    host: 'web-1',
    level: 'warn',
    trace_id: '',
    span_id: '',
    message: '{"code":7,"slow":true,"parts":["db","cache"]}',
    labels: { ...inheritedLogLabels, 'event.name': 'checkout.slow' },
  },
];

for (const [variant, Exporter] of [
  ['protobuf', LogsProto],
  ['JSON', LogsJson],
] as const) {
  t.test(`logs from the ${variant} exporter keep severity, body, attributes and their span correlation`, async (t) => {
    const rx = await startReceiver(t);
    const exporter = new Exporter({ url: `${rx.base}/v1/logs` });
    t.teardown(() => exporter.shutdown());
    const result = await exported((done) => exporter.export(makeLogs(), done));
    t.equal(result.code, ExportResultCode.SUCCESS, String(result.error ?? ''));
    t.strictSame(await rx.waitFor(2), expectedLogs);
  });
}

class ManualReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

async function makeMetrics(): Promise<ResourceMetrics> {
  const reader = new ManualReader();
  const provider = new MeterProvider({
    resource,
    readers: [reader],
    views: [{ instrumentName: 'payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter('shop-metrics', '3.0.0');
  const orders = meter.createCounter('orders');
  orders.add(3, { region: 'eu' });
  orders.add(2, { region: 'eu' });
  orders.add(1, { region: 'us' });
  const depth = meter.createUpDownCounter('queue.depth');
  depth.add(5);
  depth.add(-2);
  meter.createGauge('temperature').record(21.5, { room: 'a' });
  const latency = meter.createHistogram('latency', { advice: { explicitBucketBoundaries: [0.1, 1, 10] } });
  for (const v of [0.05, 0.5, 5, 50]) latency.record(v);
  const size = meter.createHistogram('payload.size');
  for (const v of [1, 2, 4]) size.record(v);
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics;
}

const microsOf = (time: HrTime): number => time[0] * 1_000_000 + Math.floor(time[1] / 1000);

for (const [variant, Exporter] of [
  ['protobuf', MetricsProto],
  ['JSON', MetricsJson],
] as const) {
  t.test(`counters, up-down counters, gauges and histograms from the ${variant} exporter become metric events`, async (t) => {
    const rx = await startReceiver(t);
    const exporter = new Exporter({ url: `${rx.base}/v1/metrics` });
    t.teardown(() => exporter.shutdown());
    const data = await makeMetrics();
    const result = await exported((done) => exporter.export(data, done));
    t.equal(result.code, ExportResultCode.SUCCESS, String(result.error ?? ''));
    const time = microsOf((data.scopeMetrics[0]?.metrics[0]?.dataPoints[0]?.endTime ?? [0, 0]) as HrTime);
    const base = { service: 'checkout', 'resource.host.name': 'web-1' };
    const events = (await rx.waitFor(6)) as MetricEvent[];
    const exp = events.find((e) => e.name === 'payload.size');
    t.strictSame(
      events.filter((e) => e !== exp),
      [
        { kind: 'metric', name: 'orders', type: 'counter', labels: { ...base, region: 'eu' }, time_us: time, value: 5 },
        { kind: 'metric', name: 'orders', type: 'counter', labels: { ...base, region: 'us' }, time_us: time, value: 1 },
        { kind: 'metric', name: 'queue.depth', type: 'gauge', labels: base, time_us: time, value: 3 },
        { kind: 'metric', name: 'temperature', type: 'gauge', labels: { ...base, room: 'a' }, time_us: time, value: 21.5 },
        {
          kind: 'metric',
          name: 'latency',
          type: 'histogram',
          labels: base,
          time_us: time,
          histogram: { count: 4, sum: 55.55, buckets: { '0.1': 1, '1': 2, '10': 3, '+Inf': 4 } },
        },
      ],
    );
    // Exponential buckets: 1, 2 and 4 sit exactly on bucket bounds (powers of two), so those
    // bounds carry the cumulative counts 1, 2 and 3 whatever scale the SDK chose.
    t.ok(exp && exp.type === 'histogram', 'the exponential histogram arrived as a histogram');
    if (exp?.type !== 'histogram') return;
    t.strictSame(
      { ...exp, histogram: undefined },
      { kind: 'metric', name: 'payload.size', type: 'histogram', labels: base, time_us: time, histogram: undefined },
    );
    t.equal(exp.histogram.count, 3);
    t.equal(exp.histogram.sum, 7);
    const buckets = exp.histogram.buckets;
    t.strictSame({ '1': buckets['1'], '2': buckets['2'], '4': buckets['4'], '+Inf': buckets['+Inf'] }, { '1': 1, '2': 2, '4': 3, '+Inf': 3 });
    const ordered = Object.entries(buckets).sort(([a], [b]) => (a === '+Inf' ? 1 : b === '+Inf' ? -1 : Number(a) - Number(b)));
    t.ok(
      ordered.every(([, n], i) => i === 0 || n >= (ordered[i - 1]?.[1] ?? 0)),
      'cumulative counts never decrease',
    );
  });
}
