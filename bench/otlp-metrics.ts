/**
 * OTLP/HTTP metrics request bodies as an instrumented service exports them: gauge points over
 * `series` series, made by the real OpenTelemetry SDK and serialized by its protobuf serializer,
 * one collection a body. Shared by the benches that send metrics (bench/otlp-postgres.ts,
 * bench/steady-rss.ts).
 */
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

/** `points / perRequest` request bodies of `perRequest` points each, cycling through `series` series. */
export async function metricsRequests(points: number, perRequest: number, series: number): Promise<Buffer[]> {
  class ManualReader extends MetricReader {
    protected async onShutdown(): Promise<void> {}
    protected async onForceFlush(): Promise<void> {}
  }
  const resource = resourceFromAttributes({
    'service.name': 'node-exporter-bridge',
    'service.instance.id': 'bridge-1',
    'host.name': 'web-17',
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.name': 'opentelemetry',
    'telemetry.sdk.version': '2.2.0',
  });
  const bodies: Buffer[] = [];
  for (let r = 0; r < points / perRequest; r++) {
    // A provider per request: one that lived on would report every series it ever observed again.
    const reader = new ManualReader();
    const provider = new MeterProvider({ resource, readers: [reader] });
    const first = (r * perRequest) % series;
    provider
      .getMeter('bench')
      .createObservableGauge('bench_requests_in_flight')
      .addCallback((result) => {
        for (let i = 0; i < perRequest; i++) {
          const s = (first + i) % series;
          result.observe(((r * 7919 + s) % 1000) / 7, { instance: `10.0.${s >> 8}.${s % 256}:9100`, job: 'node', series: String(s) });
        }
      });
    const { resourceMetrics } = await reader.collect();
    bodies.push(Buffer.from(ProtobufMetricsSerializer.serializeRequest(resourceMetrics) as Uint8Array));
    await provider.shutdown();
    // Collections of one series must differ in time (metrics_points holds one row per series and time).
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return bodies;
}
