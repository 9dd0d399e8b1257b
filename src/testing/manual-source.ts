import { z } from 'zod';
import { defineSource } from '../core/plugin/define.js';
import type { SourceContext } from '../core/plugin/types.js';
import type { LogEvent } from '../core/events.js';

/** Contexts of running `manual` sources by id: tests call `emit` on them directly. */
export const manualSources = new Map<string, SourceContext>();

/** Test source that emits only when a test calls its context's `emit`. */
export const manualSource = defineSource({
  type: 'manual',
  summary: 'Test source: emits what the test hands it.',
  config: z.strictObject({}),
  create(_config, ctx) {
    return {
      async start() {
        manualSources.set(ctx.id, ctx);
      },
      async stop() {
        manualSources.delete(ctx.id);
      },
    };
  },
});

export function logs(from: number, n: number, message = 'm'): LogEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    kind: 'log' as const,
    time_us: 1_700_000_000_000_000 + from + i,
    service: 'svc',
    host: 'h',
    level: 'info',
    trace_id: '',
    span_id: '',
    message: `${message} ${from + i}`,
    labels: { seq: String(from + i) },
  }));
}
