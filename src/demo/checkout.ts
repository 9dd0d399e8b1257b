/**
 * A small instrumented "checkout" service, as an application would run it: every request is a
 * server span with child spans (cart, payment, database), span events, an error status when the
 * payment is declined, log records emitted inside the spans with the OpenTelemetry logs SDK, a
 * counter and a histogram with the metrics SDK, all exported as OTLP/protobuf; and the JSON lines
 * the application writes to its own log file, carrying the same trace and span ids. That shared
 * trace context is what lets ClickHouse join a trace with its logs from both sources.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { HrTime, Span } from '@opentelemetry/api';
import { DemoError } from './errors.js';
import type { Otel } from './otel.js';

export const SERVICE = 'checkout';
export const ORDERS_METRIC = 'checkout_orders';
export const DURATION_METRIC = 'checkout_duration_ms';

export interface SentTrace {
  readonly traceId: string;
  readonly declined: boolean;
  readonly spans: number;
}

/** What was sent, so that the demo knows when all of it has landed. */
export interface Burst {
  readonly traces: readonly SentTrace[];
  readonly spans: number;
  readonly spanEvents: number;
  readonly sdkLogs: number;
  readonly fileLines: number;
}

interface ExportResult {
  code: number;
  error?: Error;
}

/** Makes an SDK exporter's failures visible: the SDK reports them only to its (silent) diagnostics logger. */
function watched<T extends object>(exporter: T, signal: string, failures: string[]): T {
  const target = exporter as unknown as { export(items: unknown, done: (r: ExportResult) => void): void };
  const original = target.export.bind(exporter);
  target.export = (items, done) =>
    original(items, (result) => {
      if (result.code !== 0) failures.push(`${signal}: ${result.error?.message ?? 'export failed'}`);
      done(result);
    });
  return exporter;
}

/**
 * Times as `[seconds, nanoseconds]`. A plain number would do for spans, but the logs SDK takes a
 * number below the process's start time for a `performance.now()` offset and adds the time origin
 * to it: a record stamped a few seconds before the process started lands in the year 2080.
 */
function hr(ms: number): HrTime {
  const secs = Math.floor(ms / 1000);
  return [secs, Math.floor((ms - secs * 1000) * 1e6)];
}

/** mulberry32: a small seeded PRNG, so that a run can be replayed with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BurstOptions {
  readonly otlp: string;
  readonly traces: number;
  /** The application's own log file; no lines are written without one. */
  readonly logFile: string | undefined;
}

export async function sendCheckoutBurst(otel: Otel, o: BurstOptions): Promise<Burst> {
  const { api, logsApi, resources, traceSdk, logsSdk, metricsSdk } = otel;
  const failures: string[] = [];
  const resource = resources.resourceFromAttributes({
    'service.name': SERVICE,
    'service.version': '1.4.2',
    'host.name': os.hostname(),
    'deployment.environment.name': 'demo',
  });
  const tracerProvider = new traceSdk.BasicTracerProvider({
    resource,
    spanProcessors: [new traceSdk.BatchSpanProcessor(watched(new otel.TraceExporter({ url: `${o.otlp}/v1/traces` }), 'traces', failures))],
  });
  const loggerProvider = new logsSdk.LoggerProvider({
    resource,
    processors: [new logsSdk.BatchLogRecordProcessor(watched(new otel.LogExporter({ url: `${o.otlp}/v1/logs` }), 'logs', failures))],
  });
  const reader = new metricsSdk.PeriodicExportingMetricReader({
    exporter: watched(new otel.MetricExporter({ url: `${o.otlp}/v1/metrics` }), 'metrics', failures),
    exportIntervalMillis: 60_000,
  });
  const meterProvider = new metricsSdk.MeterProvider({ resource, readers: [reader] });
  const tracer = tracerProvider.getTracer('checkout-demo', '1.0.0');
  const logger = loggerProvider.getLogger('checkout-demo', '1.0.0');
  const meter = meterProvider.getMeter('checkout-demo', '1.0.0');
  const orders = meter.createCounter(ORDERS_METRIC, { description: 'Checkout requests by outcome.' });
  const duration = meter.createHistogram(DURATION_METRIC, {
    unit: 'ms',
    description: 'Checkout request duration.',
    advice: { explicitBucketBoundaries: [25, 50, 100, 250, 500, 1000] },
  });

  const counts = { spans: 0, spanEvents: 0, sdkLogs: 0, fileLines: 0 };
  const traces: SentTrace[] = [];
  // No context manager is registered, so each record is handed its span's context explicitly.
  const log = (span: Span, time: number, level: 'info' | 'warn' | 'error', body: string, attributes: Record<string, string | number> = {}) => {
    const severityNumber = { info: logsApi.SeverityNumber.INFO, warn: logsApi.SeverityNumber.WARN, error: logsApi.SeverityNumber.ERROR }[level];
    logger.emit({ timestamp: hr(time), severityNumber, severityText: level, body, attributes, context: api.trace.setSpan(api.context.active(), span) });
    counts.sdkLogs++;
  };
  const rand = prng(Date.now());
  const between = (lo: number, hi: number) => lo + rand() * (hi - lo);
  const base = Date.now() - o.traces * 600 - 2000;

  for (let i = 0; i < o.traces; i++) {
    // One request in five has its card declined: the payment span and the request end in ERROR.
    const declined = i % 5 === 3;
    const user = `u${1000 + Math.floor(rand() * 9000)}`;
    const items = 1 + Math.floor(rand() * 4);
    const amount = (items * between(9, 49)).toFixed(2);
    const orderId = `o-${10_000 + i}`;
    const start = base + i * 600 + between(0, 100);
    const server = tracer.startSpan('POST /checkout', {
      kind: api.SpanKind.SERVER,
      startTime: hr(start),
      attributes: { 'http.request.method': 'POST', 'http.route': '/checkout', 'url.path': '/checkout', 'user.id': user, 'cart.items': items },
    });
    const parent = api.trace.setSpan(api.context.active(), server);
    log(server, start + 0.4, 'info', `checkout started: ${items} items for user ${user}`, { 'user.id': user });

    const cartStart = start + 1;
    const cartEnd = cartStart + between(2, 12);
    const cart = tracer.startSpan('cart.load', { kind: api.SpanKind.INTERNAL, startTime: hr(cartStart), attributes: { 'cart.items': items } }, parent);
    cart.addEvent(rand() < 0.3 ? 'cache.miss' : 'cache.hit', { 'cache.key': `cart:${user}` }, hr(cartStart + 0.5));
    cart.end(hr(cartEnd));

    const payStart = cartEnd + 0.5;
    const payEnd = payStart + between(40, 240);
    const pay = tracer.startSpan(
      'payment.charge',
      {
        kind: api.SpanKind.CLIENT,
        startTime: hr(payStart),
        attributes: { 'payment.provider': 'acme-pay', 'payment.amount': Number(amount), 'payment.currency': 'EUR' },
      },
      parent,
    );
    log(pay, payStart + 0.3, 'info', `charging ${amount} EUR with acme-pay`, { 'order.id': orderId });
    let end = payEnd;
    let spans = 3;
    let events = 1;
    if (declined) {
      // A millisecond apart: logs_events keeps milliseconds, and the report lists them in time order.
      pay.recordException({ name: 'PaymentDeclined', message: 'card declined: insufficient funds' }, hr(payEnd - 3));
      pay.setStatus({ code: api.SpanStatusCode.ERROR, message: 'card declined' });
      log(pay, payEnd - 2, 'error', `payment declined for order ${orderId}: card declined`, { 'order.id': orderId });
      events++;
    }
    pay.end(hr(payEnd));
    if (!declined) {
      const saveStart = payEnd + 0.5;
      end = saveStart + between(4, 16);
      const save = tracer.startSpan(
        'INSERT orders',
        {
          kind: api.SpanKind.CLIENT,
          startTime: hr(saveStart),
          attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'INSERT', 'db.collection.name': 'orders' },
        },
        parent,
      );
      log(save, end - 0.2, 'info', `order ${orderId} saved`, { 'order.id': orderId });
      save.end(hr(end));
      server.addEvent('order.placed', { 'order.id': orderId, 'order.amount': Number(amount) }, hr(end + 0.2));
      spans++;
      events++;
    }
    const status = declined ? 402 : 201;
    const requestEnd = end + 0.5;
    server.setAttribute('http.response.status_code', status);
    if (declined) server.setStatus({ code: api.SpanStatusCode.ERROR, message: 'payment declined' });
    server.end(hr(requestEnd));
    orders.add(1, { outcome: declined ? 'declined' : 'placed' });
    duration.record(requestEnd - start, { 'http.route': '/checkout', 'http.response.status_code': status });

    const traceId = server.spanContext().traceId;
    traces.push({ traceId, declined, spans });
    counts.spans += spans;
    counts.spanEvents += events;
    if (o.logFile) {
      // The application's own log: an access line per request, and the payment module's complaint.
      const line = (time: number, level: string, name: string, message: string, spanId: string, extra: Record<string, unknown>) =>
        `${JSON.stringify({ time: new Date(time).toISOString(), level, logger: name, message, trace_id: traceId, span_id: spanId, ...extra })}\n`;
      let text = '';
      if (declined)
        text += line(payEnd - 1, 'warn', 'payment', `card declined for user ${user}, order ${orderId} not placed`, pay.spanContext().spanId, {
          order: orderId,
        });
      text += line(
        requestEnd,
        declined ? 'warn' : 'info',
        'http',
        `POST /checkout ${status} in ${Math.round(requestEnd - start)} ms`,
        server.spanContext().spanId,
        { status, user },
      );
      fs.appendFileSync(o.logFile, text);
      counts.fileLines += declined ? 2 : 1;
    }
  }

  // Shutting the providers down exports what is still batched (metrics: one collection).
  await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown(), meterProvider.shutdown()]);
  if (failures.length > 0) {
    throw new DemoError(`the OTLP receiver at ${o.otlp} did not accept what the OpenTelemetry SDK sent: ${[...new Set(failures)].join('; ')}`);
  }
  return { traces, ...counts };
}
