import type { BusinessEvent, LogEvent, MetricEvent, SpanEvent, TelemetryEvent } from '../../../../index.js';

/** Representative events of each kind, shared by the route, filter and canonicalize_labels tests. */

export const T0 = 1_700_000_000_000_000;

export function log(over: Partial<LogEvent> = {}): LogEvent {
  return {
    kind: 'log',
    time_us: T0,
    service: 'checkout',
    host: 'web-1',
    level: 'info',
    trace_id: '',
    span_id: '',
    message: 'GET /api/cart 200',
    labels: { env: 'prod' },
    ...over,
  };
}

export function metric(over: Partial<MetricEvent> = {}): MetricEvent {
  return {
    kind: 'metric',
    type: 'counter',
    name: 'http_requests_total',
    labels: { code: '200', method: 'GET' },
    time_us: T0,
    value: 1,
    ...over,
  } as MetricEvent;
}

export function histogram(): MetricEvent {
  return {
    kind: 'metric',
    type: 'histogram',
    name: 'http_request_duration_seconds',
    labels: { route: '/api/cart' },
    time_us: T0,
    histogram: { count: 3, sum: 0.6, buckets: { '0.1': 1, '1': 3, '+Inf': 3 } },
  };
}

export function span(over: Partial<SpanEvent> = {}): SpanEvent {
  return {
    kind: 'span',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203331',
    parent_span_id: '',
    service: 'checkout',
    name: 'GET /api/cart',
    start_us: T0,
    end_us: T0 + 1500,
    duration_ns: 1_500_000,
    status_code: 'OK',
    status_message: '',
    attr: { 'http.route': '/api/cart', 'http.status_code': '200' },
    events: [{ time_us: T0 + 10, name: 'cache.miss', attr: { key: 'cart:1' } }],
    ...over,
  };
}

export function business(over: Partial<BusinessEvent> = {}): BusinessEvent {
  return {
    kind: 'event',
    time_us: T0,
    type: 'deploy',
    service: 'checkout',
    severity: 'info',
    payload: { version: '1.2.0', canary: true, replicas: 3, meta: { by: 'ci' } },
    ...over,
  };
}

/** One of each, as a source might mix them in a batch. */
export function mixedBatch(): TelemetryEvent[] {
  return [
    metric(),
    log({ level: 'error', message: 'payment declined', labels: { env: 'prod', code: '502' } }),
    span(),
    log(),
    histogram(),
    business(),
    span({
      name: 'POST /api/pay',
      end_us: T0 + 250_000,
      duration_ns: 250_000_000,
      status_code: 'ERROR',
      status_message: 'timeout',
      service: 'payments',
      attr: { 'http.route': '/api/pay' },
      events: [],
    }),
    log({ level: 'fatal', service: 'payments', message: 'worker crashed', labels: {} }),
  ];
}
