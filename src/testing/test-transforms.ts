import { z } from 'zod';
import { defineTransform } from '../core/plugin/define.js';
import type { TelemetryEvent } from '../core/events.js';

/** Test transform: sets labels[key] = value on every log/metric (mutating its input). */
export const tagTransform = defineTransform({
  type: 'test_tag',
  summary: 'Test transform: adds a label.',
  config: z.strictObject({ key: z.string(), value: z.string() }),
  create(config) {
    return {
      process(events: TelemetryEvent[]) {
        for (const e of events) if (e.kind === 'log' || e.kind === 'metric') e.labels[config.key] = config.value;
        return events;
      },
    };
  },
});

/** Test transform with named outputs: one per event kind it sees among `kinds`, rest to `_unmatched`. */
export const splitTransform = defineTransform({
  type: 'test_split',
  summary: 'Test transform: splits by kind.',
  config: z.strictObject({ kinds: z.array(z.enum(['log', 'metric', 'span', 'event'])) }),
  outputs: (config) => [...config.kinds, '_unmatched'],
  create(config) {
    return {
      process(events: TelemetryEvent[]) {
        const out: Record<string, TelemetryEvent[]> = { _unmatched: [] };
        for (const k of config.kinds) out[k] = [];
        for (const e of events) (out[config.kinds.includes(e.kind) ? e.kind : '_unmatched'] as TelemetryEvent[]).push(e);
        return out;
      },
    };
  },
});

/** Test transform that throws on every batch, or on the first `times` batches only. */
export const throwingTransform = defineTransform({
  type: 'test_throw',
  summary: 'Test transform: throws.',
  config: z.strictObject({ times: z.number().int().positive().optional() }),
  create(config) {
    let thrown = 0;
    return {
      process(events: TelemetryEvent[]): TelemetryEvent[] {
        if (config.times !== undefined && thrown >= config.times) return events;
        thrown++;
        throw new Error('boom');
      },
    };
  },
});

export const testTransforms = [tagTransform, splitTransform, throwingTransform];
