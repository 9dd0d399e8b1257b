import type { ComponentContext, TelemetryEvent } from '../../../../index.js';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { MetricsRegistry } from '../../../../core/telemetry/metrics.js';
import { LogCapture, standaloneContext } from '../../../../testing/index.js';
import canonicalize from '../index.js';

/** A canonicalize_labels instance outside a runtime, with its own metrics registry and captured logs. */
export function build(options: Record<string, unknown> = {}) {
  const config = canonicalize.config.parse(options);
  const issues = canonicalize.validate?.(config) ?? [];
  if (issues.length > 0) throw new Error(JSON.stringify(issues));
  const registry = new MetricsRegistry({ processMetrics: false });
  const base = standaloneContext('transform', 'labels', 'canonicalize_labels', '/tmp').ctx;
  const logs = new LogCapture();
  const ctx: ComponentContext = { ...base, logger: logs.logger('warn'), metrics: registry.forComponent('labels', 'transform', 'canonicalize_labels') };
  const instance = canonicalize.create(config, ctx);
  const run = (events: TelemetryEvent[]) => instance.process(events) as TelemetryEvent[];
  return { run, registry, ctx, logs };
}
