import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { context, trace } from '@opentelemetry/api';
import { eventually } from '../helpers/pipeline.js';
import { defaultAgent, drained, logLine, openStores, promTarget } from './harness.js';

/**
 * The default pipeline (config/thermocline.toml) with real inputs: JSON log lines in a file, an
 * application instrumented with the OpenTelemetry SDK exporting OTLP/protobuf, and a prom-client
 * target found through file_sd. Every input must be found in the right table, once.
 */
t.test('every input of the default pipeline lands in the right table, exactly once', async (t) => {
  const agent = await defaultAgent(t);
  await promTarget(t, agent.targetsDir);
  const logFile = path.join(agent.logDir, 'app.log');
  for (let i = 0; i < 100; i++) fs.appendFileSync(logFile, logLine(i));
  await agent.start();

  const resource = resourceFromAttributes({ 'service.name': 'shop', 'host.name': 'web-1' });
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${agent.otlp}/v1/traces` }))] });
  const loggerProvider = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor(new OTLPLogExporter({ url: `${agent.otlp}/v1/logs` }))] });
  const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${agent.otlp}/v1/metrics` }), exportIntervalMillis: 60_000 });
  const meterProvider = new MeterProvider({ resource, readers: [reader] });
  const tracer = tracerProvider.getTracer('e2e');
  const logger = loggerProvider.getLogger('e2e');
  const orders = meterProvider.getMeter('e2e').createCounter('e2e_orders');
  const traceIds: string[] = [];
  for (let i = 0; i < 50; i++) {
    const span = tracer.startSpan(`order ${i}`, { attributes: { 'order.id': i } });
    traceIds.push(span.spanContext().traceId);
    // No context manager is registered, so the span's context is handed to the record itself.
    logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'info', body: `order ${i} placed`, attributes: { 'order.id': i }, context: trace.setSpan(context.active(), span) });
    orders.add(1, { shop: 'a' });
    span.end();
  }
  await tracerProvider.forceFlush();
  await loggerProvider.forceFlush();
  await meterProvider.forceFlush();
  for (let i = 100; i < 200; i++) fs.appendFileSync(logFile, logLine(i));

  // The prom-client target is scraped once file_sd has announced it.
  await eventually(
    async () => {
      const res = await fetch(`${agent.api}/tap/prom?limit=2000`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      const text = res ? await res.text().catch(() => '') : '';
      return text.includes('e2e_requests_total');
    },
    90_000,
    'the prom-client target to be scraped',
  ).catch(() => undefined);
  await drained(agent);
  await agent.kill('SIGTERM');

  const { pgRows, chRows, db } = await openStores(t, agent.dataDir);
  const fileLines = await chRows<{ message: string; n: string }>(`SELECT message, toString(count()) AS n FROM ${db}.logs_events WHERE message LIKE 'file line %' GROUP BY message`);
  t.equal(fileLines.length, 200, 'all 200 file lines are in logs_events');
  t.ok(
    fileLines.every((r) => r.n === '1'),
    'each once',
  );
  const otlpLogs = await chRows<{ n: string }>(`SELECT toString(count()) AS n FROM ${db}.logs_events WHERE message LIKE 'order % placed'`);
  t.equal(otlpLogs[0]?.n, '50', 'the 50 SDK log records');
  const spans = await chRows<{ trace_id: string; n: string }>(`SELECT trace_id, toString(count()) AS n FROM ${db}.spans WHERE service = 'shop' GROUP BY trace_id`);
  t.same(new Set(spans.map((s) => s.trace_id)), new Set(traceIds), 'every SDK span, by trace id');
  t.ok(spans.every((s) => s.n === '1'));
  const joined = await chRows<{ name: string; message: string }>(
    `SELECT s.name AS name, l.message AS message FROM ${db}.spans AS s INNER JOIN ${db}.logs_events AS l ON l.trace_id = s.trace_id WHERE s.trace_id = '${traceIds[7]}'`,
  );
  t.same(joined, [{ name: 'order 7', message: 'order 7 placed' }], 'a trace joins its logs by trace_id');
  const orderPoints = await pgRows<{ value: number }>(
    `SELECT p.value FROM metrics_points p JOIN metric_series s USING (series_id) WHERE s.metric_name = 'e2e_orders' ORDER BY p.time DESC LIMIT 1`,
  );
  t.equal(orderPoints[0]?.value, 50, 'the SDK counter reached PostgreSQL');
  const scraped = await pgRows<{ metric_name: string; labels: Record<string, string>; value: number }>(
    `SELECT s.metric_name, s.labels, p.value FROM metrics_points p JOIN metric_series s USING (series_id) WHERE s.metric_name = 'e2e_requests_total'`,
  );
  t.ok(scraped.length >= 1, 'the prom-client counter was scraped into metrics_points');
  t.same(scraped[0]?.labels, { code: '200', instance: scraped[0]?.labels.instance, job: 'e2e' });
  t.equal(scraped[0]?.value, 7);
  const histograms = await pgRows<{ count: string; buckets: Record<string, number> }>(
    `SELECT h.count::text AS count, h.buckets FROM metrics_histogram h JOIN metric_series s USING (series_id) WHERE s.metric_name = 'e2e_latency_seconds'`,
  );
  t.same(histograms[0], { count: '1', buckets: { '0.1': 0, '1': 1, '+Inf': 1 } }, 'the histogram, one row per scrape');
});
