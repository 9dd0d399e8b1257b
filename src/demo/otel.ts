/**
 * The OpenTelemetry JS SDK, loaded on demand. It is a development dependency (the agent itself
 * never sends telemetry with it), so a production-only install (`npm ci --omit=dev`) lacks it:
 * that must be a clear message before anything starts, not a stack trace from a static import.
 */
import { DemoError } from './errors.js';

export interface Otel {
  api: typeof import('@opentelemetry/api');
  logsApi: typeof import('@opentelemetry/api-logs');
  resources: typeof import('@opentelemetry/resources');
  traceSdk: typeof import('@opentelemetry/sdk-trace-base');
  logsSdk: typeof import('@opentelemetry/sdk-logs');
  metricsSdk: typeof import('@opentelemetry/sdk-metrics');
  TraceExporter: typeof import('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter;
  LogExporter: typeof import('@opentelemetry/exporter-logs-otlp-proto').OTLPLogExporter;
  MetricExporter: typeof import('@opentelemetry/exporter-metrics-otlp-proto').OTLPMetricExporter;
}

export async function loadOtel(): Promise<Otel> {
  try {
    const [api, logsApi, resources, traceSdk, logsSdk, metricsSdk, traceExp, logExp, metricExp] = await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/api-logs'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/sdk-logs'),
      import('@opentelemetry/sdk-metrics'),
      import('@opentelemetry/exporter-trace-otlp-proto'),
      import('@opentelemetry/exporter-logs-otlp-proto'),
      import('@opentelemetry/exporter-metrics-otlp-proto'),
    ]);
    return {
      api,
      logsApi,
      resources,
      traceSdk,
      logsSdk,
      metricsSdk,
      TraceExporter: traceExp.OTLPTraceExporter,
      LogExporter: logExp.OTLPLogExporter,
      MetricExporter: metricExp.OTLPMetricExporter,
    };
  } catch (err) {
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec((err as Error).message)?.[1];
    throw new DemoError(
      `the demo sends with the OpenTelemetry JS SDK, a development dependency, and ${missing ? `"${missing}"` : 'it'} is not installed (a production-only install?): run \`npm ci\` without --omit=dev`,
      { cause: err },
    );
  }
}
