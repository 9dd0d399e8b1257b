import http from 'node:http';
import t from 'tap';
import type { BusinessEvent, LogEvent, MetricEvent, SpanEvent, TelemetryEvent } from '../../../index.js';
import { manualSource, manualSources, eventually, startPipeline } from '../../../testing/index.js';
// eslint-disable-next-line thermocline/plugin-boundary -- an end-to-end test of this sink into the otlp_http source, through that source's own test receiver
import { startReceiver, otlp } from '../../sources/otlp_http/testdata/harness.js';
import { encodeTraces } from './encode/traces.js';
import { encodeMetrics, explicitBuckets } from './encode/metrics.js';
import { retryAfterMs } from './response.js';

const T0 = 1_763_700_000_123_456;

const span: SpanEvent = {
  kind: 'span',
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  span_id: '00f067aa0ba902b7',
  parent_span_id: 'a0f067aa0ba902b7',
  service: 'checkout',
  name: 'GET /cart',
  start_us: T0,
  end_us: T0 + 1500,
  duration_ns: 1_500_000,
  status_code: 'ERROR',
  status_message: 'upstream timeout',
  attr: {
    'http.route': '/cart',
    'span.kind': 'server',
    'resource.host.name': 'node-7',
    'resource.deployment.environment': 'prod',
    'scope.name': 'my-lib',
    'scope.version': '1.2.0',
  },
  events: [{ time_us: T0 + 700, name: 'exception', attr: { 'exception.message': 'boom' } }],
};
const log: LogEvent = {
  kind: 'log',
  time_us: T0 + 10,
  service: 'checkout',
  host: 'node-7',
  level: 'error',
  trace_id: span.trace_id,
  span_id: span.span_id,
  message: 'payment failed: card declined',
  labels: { 'order.id': '42', 'resource.deployment.environment': 'prod', 'scope.name': 'my-lib', 'scope.version': '1.2.0' },
};
const gauge: MetricEvent = { kind: 'metric', type: 'gauge', name: 'queue_depth', labels: { queue: 'orders', service: 'checkout' }, time_us: T0, value: 17.5 };
const counter: MetricEvent = {
  kind: 'metric',
  type: 'counter',
  name: 'requests_total',
  labels: { code: '200', service: 'checkout' },
  time_us: T0,
  value: 1234,
};
const histogram: MetricEvent = {
  kind: 'metric',
  type: 'histogram',
  name: 'latency_seconds',
  labels: { route: '/cart', service: 'checkout' },
  time_us: T0,
  histogram: { count: 10, sum: 4.5, buckets: { '0.1': 2, '1': 7, '+Inf': 10 } },
};
const deploy: BusinessEvent = { kind: 'event', time_us: T0, type: 'deploy', service: 'checkout', severity: 'info', payload: { version: '1.4.2' } };

t.test('events forwarded to a real otlp_http receiver come back as they left', async (t) => {
  const receiver = await startReceiver(t);
  await startPipeline(t, `[sources.m]\ntype = "manual"\n[sinks.fwd]\ntype = "otlp_http"\ninputs = ["m"]\nendpoint = "${receiver.base}"\n`, {
    extra: [manualSource],
  });
  await manualSources.get('m')!.emit([span, log, gauge, counter, histogram, deploy]);
  const events = await receiver.waitFor(6);
  const byKind = (k: TelemetryEvent['kind']) => events.filter((e) => e.kind === k);
  t.same(byKind('span'), [span], 'the span, with resource and scope attributes regrouped and restored');
  const logs = byKind('log') as LogEvent[];
  t.same(
    logs.find((l) => l.message === log.message),
    log,
  );
  const asLog = logs.find((l) => l.message !== log.message);
  t.same(asLog?.message, JSON.stringify(deploy.payload), 'a business event arrives as a log named by its type');
  t.equal(asLog?.labels['event.type'], 'deploy');
  const metrics = byKind('metric') as MetricEvent[];
  t.same(
    metrics.find((m) => m.name === 'queue_depth'),
    gauge,
  );
  t.same(
    metrics.find((m) => m.name === 'requests_total'),
    counter,
  );
  t.same(
    metrics.find((m) => m.name === 'latency_seconds'),
    histogram,
  );
});

t.test("the encoding matches the OpenTelemetry project's generated protobuf code", async (t) => {
  const traces = otlp.collector.trace.v1.ExportTraceServiceRequest.decode(encodeTraces([span]));
  const rs = traces.resourceSpans[0];
  t.same(
    rs.resource.attributes.map((a: { key: string; value: { stringValue: string } }) => [a.key, a.value.stringValue]),
    [
      ['service.name', 'checkout'],
      ['host.name', 'node-7'],
      ['deployment.environment', 'prod'],
    ],
  );
  t.equal(rs.scopeSpans[0].scope.name, 'my-lib');
  const s = rs.scopeSpans[0].spans[0];
  t.equal(Buffer.from(s.traceId).toString('hex'), span.trace_id);
  t.equal(Buffer.from(s.parentSpanId).toString('hex'), span.parent_span_id);
  t.equal(s.kind, 2, 'SPAN_KIND_SERVER');
  t.equal(s.startTimeUnixNano.toString(), `${T0}000`, 'nanoseconds exact beyond 2^53');
  t.equal(s.status.code, 2);
  t.equal(s.events[0].name, 'exception');
  const metrics = otlp.collector.metrics.v1.ExportMetricsServiceRequest.decode(encodeMetrics([counter, histogram]));
  const ms = metrics.resourceMetrics[0].scopeMetrics[0].metrics;
  t.equal(ms[0].sum.isMonotonic, true);
  t.equal(ms[0].sum.aggregationTemporality, 2);
  t.same(ms[1].histogram.dataPoints[0].explicitBounds, [0.1, 1]);
  t.same(ms[1].histogram.dataPoints[0].bucketCounts.map(String), ['2', '5', '3']);
});

t.test('explicit buckets from cumulative le buckets', async (t) => {
  t.same(explicitBuckets({ count: 5, sum: 1, buckets: { '+Inf': 5, '10': 4, '2.5': 1 } }), { bounds: [2.5, 10], counts: [1, 3, 1] });
  t.same(explicitBuckets({ count: 3, sum: 1, buckets: {} }), { bounds: [], counts: [3] });
});

t.test('Retry-After as seconds or a date', async (t) => {
  t.equal(retryAfterMs('3'), 3000);
  const now = Date.now();
  t.ok((retryAfterMs(new Date(now + 5000).toUTCString(), now) ?? 0) > 3000);
  t.equal(retryAfterMs('soon'), undefined);
  t.equal(retryAfterMs(undefined), undefined);
});

/**
 * A scripted receiver: a reply with `when` answers every request whose body length it accepts;
 * the others are used up in order; then 200.
 */
async function scripted(
  t: { teardown(fn: () => unknown): void },
  replies: Array<{ status: number; headers?: Record<string, string>; body?: string; when?: (len: number) => boolean }>,
) {
  const seen: Array<{ at: number; bytes: number; status: number }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const len = Buffer.concat(chunks).length;
      const conditional = replies.find((r) => r.when?.(len));
      const next = replies.findIndex((r) => !r.when);
      const reply = conditional ?? (next >= 0 ? replies.splice(next, 1)[0]! : { status: 200 });
      seen.push({ at: Date.now(), bytes: len, status: reply.status });
      res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

t.test('503 with Retry-After is retried no sooner than the receiver asked', async (t) => {
  const rx = await scripted(t, [{ status: 503, headers: { 'retry-after': '1' } }]);
  await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.fwd]\ntype = "otlp_http"\ninputs = ["m"]\nendpoint = "${rx.base}"\nhealthcheck = { enabled = false }\nretry = { initial_backoff_secs = 0.01 }\n`,
    { extra: [manualSource] },
  );
  await manualSources.get('m')!.emit([span]);
  await eventually(() => rx.seen.some((s) => s.status === 200), 10_000, 'delivered');
  t.equal(rx.seen[0]?.status, 503);
  t.ok((rx.seen[1]?.at ?? 0) - (rx.seen[0]?.at ?? 0) >= 900, 'waited for Retry-After, not the 10 ms backoff');
});

t.test("400 is permanent: the batch is dead-lettered with the receiver's message", async (t) => {
  const rx = await scripted(t, [{ status: 400, headers: { 'content-type': 'text/plain' }, body: 'bad trace id' }]);
  const { runtime } = await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.fwd]\ntype = "otlp_http"\ninputs = ["m"]\nendpoint = "${rx.base}"\nhealthcheck = { enabled = false }\n`,
    { extra: [manualSource] },
  );
  await manualSources.get('m')!.emit([span]);
  await eventually(() => runtime.store.deadLetterCount('fwd') === 1, 10_000, 'dead letter');
  t.match(runtime.store.deadLetters('fwd')[0]?.error, /answered 400: bad trace id/);
});

t.test('401 keeps the data queued and the sink degraded until the receiver accepts', async (t) => {
  const rx = await scripted(t, [
    { status: 401, body: 'no' },
    { status: 401, body: 'no' },
  ]);
  const { runtime } = await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.fwd]\ntype = "otlp_http"\ninputs = ["m"]\nendpoint = "${rx.base}"\nhealthcheck = { enabled = false }\nretry = { initial_backoff_secs = 0.05 }\n`,
    { extra: [manualSource] },
  );
  await manualSources.get('m')!.emit([span]);
  await eventually(() => runtime.statuses().find((s) => s.id === 'fwd')?.state === 'degraded', 5000, 'degraded');
  t.match(runtime.statuses().find((s) => s.id === 'fwd')?.error, /check auth\.bearer_token/);
  await eventually(() => rx.seen.some((s) => s.status === 200), 10_000, 'delivered after all');
  t.equal(runtime.store.deadLetterCount('fwd'), 0);
});

t.test('413 splits the request until the parts fit', async (t) => {
  const rx = await scripted(t, [{ status: 413, when: (len) => len > 1500 }]);
  await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.fwd]\ntype = "otlp_http"\ninputs = ["m"]\nendpoint = "${rx.base}"\nhealthcheck = { enabled = false }\ncompression = "none"\n`,
    { extra: [manualSource] },
  );
  const spans = Array.from({ length: 16 }, (_, i) => ({ ...span, span_id: (i + 1).toString(16).padStart(16, '0') }));
  await manualSources.get('m')!.emit(spans);
  await eventually(() => rx.seen.filter((s) => s.status === 200).length >= 2, 10_000, 'parts delivered');
  t.ok(rx.seen.some((s) => s.status === 413));
  t.ok(rx.seen.filter((s) => s.status === 200).every((s) => s.bytes <= 1500));
});
