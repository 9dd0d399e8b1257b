/**
 * The compose proof of concept's load generator: one burst of the demo's checkout service
 * (src/cli/demo/checkout.ts: traces with span events, logs and metrics through the OpenTelemetry
 * SDK) sent to THERMOCLINE_LOADGEN_OTLP. The SDK's exporters add OTEL_EXPORTER_OTLP_HEADERS (the
 * gateway's bearer token). poc.yaml runs it in a loop.
 */
import { sendCheckoutBurst } from '../../src/cli/demo/checkout.js';
import { loadOtel } from '../../src/cli/demo/otel.js';

const otlp = process.env.THERMOCLINE_LOADGEN_OTLP ?? 'http://127.0.0.1:4318';
const burst = await sendCheckoutBurst(await loadOtel(), { otlp, traces: Number(process.env.THERMOCLINE_LOADGEN_TRACES ?? 20), logFile: undefined });
process.stdout.write(`sent ${burst.spans} spans, ${burst.spanEvents} span events, ${burst.sdkLogs} logs to ${otlp}\n`);
