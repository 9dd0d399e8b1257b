import { OTLP_SOURCE_ERRORS } from './errors.js';
import { defineSource, PostgresConnection } from '../../../index.js';
import { otlpHttpConfig } from './config.js';
import { Receiver } from './receiver.js';

/**
 * The OTLP/HTTP receiver (OpenTelemetry protocol specification, "OTLP/HTTP"): traces, logs and
 * metrics posted by OpenTelemetry SDKs and collectors, in protobuf or JSON, answered only once
 * they are durable in the queue. See README.md for the mapping to events and the status codes.
 */
export default defineSource({
  type: 'otlp_http',
  summary: 'Receives OpenTelemetry traces, logs and metrics over OTLP/HTTP (protobuf or JSON).',
  errors: OTLP_SOURCE_ERRORS,
  config: otlpHttpConfig,
  example: { address: '127.0.0.1:43181' },
  validate(config) {
    const seen = new Map<string, string>();
    const issues = [];
    for (const [signal, path] of Object.entries(config.paths)) {
      const other = seen.get(path);
      if (other !== undefined) issues.push({ path: ['paths', signal], message: `"${path}" is already the path of ${other}: each signal needs its own path` });
      seen.set(path, signal);
    }
    if (config.registry !== undefined && config.log_events !== 'events') issues.push({ path: ['registry'], message: 'validates business events: set log_events = "events" too' });
    if (config.unregistered !== 'accept' && config.log_events !== 'events') issues.push({ path: ['unregistered'], message: 'applies to business events: set log_events = "events" too' });
    return issues;
  },
  uses: (config) => (config.registry === undefined ? [] : [{ key: PostgresConnection, from: config.registry }]),
  create(config, ctx) {
    return new Receiver(config, ctx);
  },
});
