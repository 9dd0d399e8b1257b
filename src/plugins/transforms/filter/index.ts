import { defineTransform, type TelemetryEvent } from '../../../index.js';
import { compileMatcher } from '../_shared/matcher.js';
import { filterConfig } from './config.js';

/**
 * Keeps (or, with `invert`, drops) the events a matcher selects. Dropped events are
 * counted as `dropped{reason="filtered"}`: they are lost on purpose, and an operator looking at
 * received vs sent must be able to tell that from a bug.
 */
export default defineTransform({
  type: 'filter',
  summary: 'Keeps or drops events by a declarative matcher.',
  config: filterConfig,
  example: { condition: { kind: 'log', level: ['debug', 'trace'] }, invert: true },
  validate: (config) => compileMatcher(config.condition, ['condition']).issues,
  create(config, ctx) {
    const { predicate, issues } = compileMatcher(config.condition, ['condition']);
    // validate() ran on this config before create(); this only guards direct API use.
    if (issues.length > 0) throw new Error(issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const keep = !config.invert;
    return {
      process(events) {
        const out: TelemetryEvent[] = [];
        for (let i = 0; i < events.length; i++) {
          const e = events[i] as TelemetryEvent;
          if (predicate(e) === keep) out.push(e);
        }
        const dropped = events.length - out.length;
        if (dropped > 0) ctx.metrics.dropped(dropped, 'filtered');
        return out;
      },
    };
  },
});
