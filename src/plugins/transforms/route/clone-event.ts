import type { TelemetryEvent } from '../../../index.js';

/**
 * A copy of an event that shares nothing mutable with the original. A route hands an event that
 * matches several routes to several outputs; the runtime copies only where ONE output fans out
 * (core/runtime/router.ts), so without this a transform downstream of `<id>.a` could rewrite
 * the very object a sink on `<id>.b` is about to encode. A copy per kind is several times
 * cheaper than `structuredClone` because it knows which members are objects.
 */
export function cloneEvent(e: TelemetryEvent): TelemetryEvent {
  switch (e.kind) {
    case 'log':
      return { ...e, labels: { ...e.labels } };
    case 'metric':
      return e.type === 'histogram'
        ? { ...e, labels: { ...e.labels }, histogram: { ...e.histogram, buckets: { ...e.histogram.buckets } } }
        : { ...e, labels: { ...e.labels } };
    case 'span':
      return { ...e, attr: { ...e.attr }, events: e.events.map((x) => ({ ...x, attr: { ...x.attr } })) };
    case 'event':
      return { ...e, payload: structuredClone(e.payload) };
    default:
      return structuredClone(e);
  }
}
