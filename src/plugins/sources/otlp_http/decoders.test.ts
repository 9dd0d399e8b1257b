/**
 * The protobuf and JSON decoders against fixtures that set every field of the OTLP messages
 * (testdata/*.json, OTLP/JSON). Each fixture is decoded as JSON, and also converted to protobuf
 * with the OpenTelemetry project's own generated code (@opentelemetry/otlp-transformer) and
 * decoded by our wire decoder: both must give exactly the expected events. A wrong field number
 * in either decoder cannot hide behind the other.
 */
import fs from 'node:fs';
import t, { type Test } from 'tap';
import type { LogEvent, MetricEvent, SpanEvent } from '../../../index.js';
import { decodeLogsJson } from './json/logs.js';
import { decodeMetricsJson } from './json/metrics.js';
import { decodeTracesJson } from './json/traces.js';
import type { Decoded } from './mapping.js';
import { decodeLogsProto } from './proto/logs.js';
import { decodeMetricsProto } from './proto/metrics.js';
import { decodeTracesProto } from './proto/traces.js';
import { otlp } from './testdata/generated.js';

const fixture = (name: string): unknown => JSON.parse(fs.readFileSync(new URL(`testdata/${name}`, import.meta.url), 'utf8'));

/** OTLP/JSON → the plain object protobufjs's `fromObject` takes: hex ids become bytes. */
function protoObject(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => protoObject(x));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, protoObject(x, k)]));
  if (typeof v === 'string' && (key === 'traceId' || key === 'spanId' || key === 'parentSpanId')) return Buffer.from(v, 'hex');
  return v;
}

function encode(type: { fromObject(o: unknown): unknown; encode(m: unknown): { finish(): Uint8Array } }, json: unknown): Buffer {
  return Buffer.from(type.encode(type.fromObject(protoObject(json))).finish());
}

const KEYS = ['service.namespace', 'service.instance.id', 'host.name'];
const services = otlp.collector;
const signals = {
  traces: { json: decodeTracesJson, proto: decodeTracesProto, type: services.trace.v1.ExportTraceServiceRequest },
  logs: { json: decodeLogsJson, proto: decodeLogsProto, type: services.logs.v1.ExportLogsServiceRequest },
  metrics: {
    json: (b: unknown) => decodeMetricsJson(b, KEYS),
    proto: (b: Buffer) => decodeMetricsProto(b, KEYS),
    type: services.metrics.v1.ExportMetricsServiceRequest,
  },
};

function bothWays(t: Test, signal: keyof typeof signals, file: string, expected: Decoded): void {
  const json = fixture(file);
  const { json: fromJson, proto: fromProto, type } = signals[signal];
  t.strictSame(fromJson(json), expected, 'OTLP/JSON');
  t.strictSame(fromProto(encode(type, json)), expected, 'protobuf encoded by the generated OTLP code');
}

const TRACE = '5b8efff798038103d269b633813fc60c';
const spanInherited = {
  'scope.lib.kind': 'http',
  'scope.name': 'io.example.shop',
  'scope.version': '1.2.0',
  'resource.host.name': 'web-1',
  'resource.k8s.pod.uid': 'AAEC/w==',
};

t.test('every span field: ids, kind, times to the nanosecond, attributes of every value type, events, links, status', async (t) => {
  const spans: SpanEvent[] = [
    {
      kind: 'span',
      trace_id: TRACE,
      span_id: 'eee19b7ec3c1b174',
      parent_span_id: 'eee19b7ec3c1b173',
      service: 'checkout',
      name: 'POST /pay',
      start_us: 1_700_000_000_123_456,
      end_us: 1_700_000_000_223_456,
      duration_ns: 99_999_999,
      status_code: 'ERROR',
      status_message: 'card declined',
      attr: {
        ...spanInherited,
        'http.method': 'POST',
        retry: 'true',
        big: '9007199254740993',
        negative: '-5',
        ratio: '1.5',
        'not.a.number': 'NaN',
        list: '["a",7,"9007199254740993","Infinity",false,null,{"k":"v"}]',
        map: '{"n":0.25,"raw":"aGk=","inner":[true]}',
        blob: '3q2+7w==',
        empty: '',
        'span.kind': 'server',
        'span.trace_state': 'vendor=abc',
        'span.links': JSON.stringify([
          { trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331', trace_state: 'x=1', attributes: { 'link.reason': 'batch' } },
          { trace_id: '0af7651916cd43dd8448eb211c80319d', span_id: 'b7ad6b7169203332' },
        ]),
      },
      events: [
        { time_us: 1_700_000_000_150_000, name: 'exception', attr: { 'exception.message': 'card declined' } },
        { time_us: 1_700_000_000_160_000, name: 'retry', attr: {} },
      ],
    },
    {
      kind: 'span',
      trace_id: TRACE,
      span_id: 'eee19b7ec3c1b173',
      parent_span_id: '',
      service: 'checkout',
      name: 'checkout',
      start_us: 1_700_000_000_000_000,
      end_us: 1_700_000_000_300_000,
      duration_ns: 300_000_000,
      status_code: 'OK',
      status_message: '',
      attr: spanInherited,
      events: [],
    },
    {
      kind: 'span',
      trace_id: '5b8efff798038103d269b633813fc60d',
      span_id: 'eee19b7ec3c1b175',
      parent_span_id: '',
      service: '',
      name: 'no resource',
      start_us: 1_700_000_000_000_000,
      end_us: 1_699_999_999_999_999,
      duration_ns: 0,
      status_code: 'UNSET',
      status_message: '',
      attr: { 'span.kind': 'consumer' },
      events: [],
    },
  ];
  bothWays(t, 'traces', 'traces.json', {
    events: spans,
    rejected: 1,
    reason: 'span "short span id": span_id must be 8 bytes (16 hex digits), got 8 hex digits',
  });
});

t.test('every log record field: times, severity to level, bodies of every type, trace context, event name', async (t) => {
  const base = { kind: 'log', service: 'checkout', host: 'web-1' } as const;
  const inherited = { 'scope.name': 'app.logger', 'scope.version': '0.1.0', 'resource.deployment.environment': 'prod' };
  const logs: LogEvent[] = [
    {
      ...base,
      time_us: 1_700_000_000_000_001,
      level: 'error',
      trace_id: TRACE,
      span_id: 'eee19b7ec3c1b174',
      message: 'payment failed',
      labels: { ...inherited, 'order.id': '42', amount: '9.99', 'event.name': 'payment.failed' },
    },
    { ...base, time_us: 1_700_000_000_000_003, level: 'info', trace_id: '', span_id: '', message: '{"msg":"slow","ms":1500}', labels: inherited },
    { ...base, time_us: 1_700_000_000_000_004, level: '', trace_id: '', span_id: '', message: '42', labels: inherited },
    { ...base, time_us: 1_700_000_000_000_005, level: 'fatal', trace_id: '', span_id: '', message: '3q2+7w==', labels: inherited },
  ];
  bothWays(t, 'logs', 'logs.json', { events: logs, rejected: 1, reason: 'log record: trace_id must be 16 bytes (32 hex digits), got 16 hex digits' });
});

t.test('every metric type: gauges, sums as counters or gauges, histograms, exponential histograms, summaries', async (t) => {
  const labels = { service: 'checkout', 'resource.service.instance.id': 'i-1', 'resource.host.name': 'web-1' };
  const time_us = 1_700_000_000_000_000;
  const point = (name: string, type: 'gauge' | 'counter' | 'summary', value: number, extra: Record<string, string> = {}): MetricEvent => ({
    kind: 'metric',
    name,
    type,
    labels: { ...labels, ...extra },
    time_us,
    value,
  });
  const metrics: MetricEvent[] = [
    point('cpu.temp', 'gauge', 71.5, { core: '0' }),
    point('requests', 'counter', 42, { route: '/pay' }),
    point('bytes.sent', 'gauge', -7),
    point('queue.size', 'gauge', 3),
    {
      kind: 'metric',
      name: 'latency',
      type: 'histogram',
      labels: { ...labels, route: '/pay' },
      time_us,
      histogram: { count: 10, sum: 12.5, buckets: { '1e-05': 1, '0.5': 3, '1e+06': 6, '+Inf': 10 } },
    },
    {
      kind: 'metric',
      name: 'size',
      type: 'histogram',
      labels,
      time_us,
      histogram: { count: 5, sum: 2.5, buckets: { '-1': 1, '0': 2, '1.4142135623730951': 3, '2': 5, '+Inf': 5 } },
    },
    point('rpc.duration', 'summary', 0.1, { method: 'Pay', quantile: '0.5' }),
    point('rpc.duration', 'summary', 2, { method: 'Pay', quantile: '0.99' }),
    point('rpc.duration_sum', 'counter', 25.5, { method: 'Pay' }),
    point('rpc.duration_count', 'counter', 100, { method: 'Pay' }),
  ];
  bothWays(t, 'metrics', 'metrics.json', {
    events: metrics,
    rejected: 2,
    reason: 'metric "latency": a histogram data point has 2 bucket counts for 2 bounds (expected 3)',
  });
});
