import { z } from 'zod';
import { defineSink } from '../core/plugin/define.js';
import type { TelemetryEvent } from '../core/events.js';
import type { WriteMeta } from '../core/plugin/types.js';
import { PermanentError, RetryableError } from '../core/errors.js';

/** What a `memory_recorder` sink received, by component id (in-process tests only). */
export const recorded = new Map<string, { events: TelemetryEvent[]; writes: WriteMeta[] }>();

/** Scripted failures: the next write of the sink throws this (then the script advances). */
export const failures = new Map<string, Array<'retryable' | 'permanent' | 'unclassified'>>();

export function received(id: string): TelemetryEvent[] {
  return recorded.get(id)?.events ?? [];
}

/** A test sink that keeps everything it is given in memory. */
export const memoryRecorder = defineSink({
  type: 'memory_recorder',
  summary: 'Test sink: records events in memory.',
  config: z.strictObject({
    delay_ms: z.number().nonnegative().default(0),
  }),
  batch: { max_events: 1000, timeout_secs: 0.01 },
  create(config, ctx) {
    const rec = { events: [] as TelemetryEvent[], writes: [] as WriteMeta[] };
    recorded.set(ctx.id, rec);
    return {
      async write(events, meta) {
        if (config.delay_ms > 0) await new Promise((r) => setTimeout(r, config.delay_ms));
        const next = failures.get(ctx.id)?.shift();
        if (next === 'retryable') throw new RetryableError('scripted retryable failure');
        if (next === 'permanent') throw new PermanentError('scripted permanent failure');
        if (next === 'unclassified') throw new Error('scripted unclassified failure');
        rec.writes.push(meta);
        rec.events.push(...events);
      },
    };
  },
});
