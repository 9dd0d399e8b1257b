import type { Runtime } from '../runtime/runtime.js';

/** The /components view: state, counters and queue depth per component, plus persisted state. */
export function componentsView(rt: Runtime): unknown {
  const stats = new Map(rt.metrics.componentStats().map((s) => [`${s.kind}:${s.id}`, s]));
  return rt.statuses().map((status) => {
    const s = stats.get(`${status.kind}:${status.id}`);
    const queue = status.kind === 'sink' ? rt.queueOf(status.id) : undefined;
    const oldest = queue?.head(1)[0];
    const stored = rt.store.allState(status.id);
    return {
      ...status.toJSON(),
      received_events: s?.receivedEvents ?? 0,
      received_bytes: s?.receivedBytes ?? 0,
      sent_events: s?.sentEvents ?? 0,
      sent_bytes: s?.sentBytes ?? 0,
      dropped_events: s ? Object.fromEntries(s.dropped) : {},
      errors: s ? Object.fromEntries(s.errors) : {},
      queue: queue
        ? {
            type: queue.options.type,
            events: queue.events,
            bytes: queue.bytes,
            batches: queue.batches,
            max_bytes: queue.options.max_bytes,
            when_full: queue.options.when_full,
            full: queue.isFull(),
            oldest_age_secs: oldest ? Math.max(0, Date.now() - oldest.createdUs / 1000) / 1000 : 0,
          }
        : undefined,
      stored_state: Object.keys(stored).length > 0 ? stored : undefined,
    };
  });
}
