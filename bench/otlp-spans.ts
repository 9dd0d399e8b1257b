/**
 * One OTLP/HTTP traces request body as an instrumented HTTP service exports it: `spans` spans made
 * by the real OpenTelemetry SDK and serialized by its protobuf serializer. Shared by the benches
 * that send spans (bench/otlp-http.ts, bench/agent-ceiling.ts).
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

export function tracesRequest(spans: number): Buffer {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      'service.version': '1.4.2',
      'host.name': 'web-17',
      'process.pid': 4242,
      'process.runtime.name': 'nodejs',
      'process.runtime.version': '20.20.2',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.version': '2.2.0',
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-http', '0.208.0');
  for (let i = 0; i < spans; i++) {
    const span = tracer.startSpan(`GET /api/items/:id`, {
      kind: 1,
      attributes: {
        'http.request.method': 'GET',
        'http.route': '/api/items/:id',
        'url.path': `/api/items/${i}`,
        'http.response.status_code': i % 50 === 0 ? 500 : 200,
        'server.address': 'checkout.internal',
        'server.port': 8080,
        'network.protocol.version': '1.1',
      },
    });
    if (i % 10 === 0) span.addEvent('cache miss', { 'cache.key': `item:${i}` });
    if (i % 50 === 0) span.setStatus({ code: 2, message: 'upstream timeout' });
    span.end();
  }
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans()) as Uint8Array);
}
