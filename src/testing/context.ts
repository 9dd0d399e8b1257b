import pino from 'pino';
import { decodeBatch } from '../core/codec/batch.js';
import type { TelemetryEvent } from '../core/events.js';
import type { ComponentContext, ComponentKind, Json, RejectedRow, SourceContext } from '../core/plugin/types.js';
import { ResourceRegistry } from '../core/plugin/resource.js';
import { MetricsRegistry } from '../core/telemetry/metrics.js';

/**
 * A component context outside a runtime, for lifecycle tests of single plugin instances. Source
 * emits are kept in `emitted` and acknowledged at once.
 */
export function standaloneContext(kind: ComponentKind, id: string, type: string, dataDir: string) {
  const state = new Map<string, Json>();
  const published = new Map<string, unknown>();
  const resources = new ResourceRegistry();
  const controller = new AbortController();
  /** `origins`: the origin ids of an `emitEncoded`, one per batch, in order (empty for `emit`). */
  const emitted: Array<{ events: TelemetryEvent[]; checkpoint: Json | undefined; origins?: Array<string | undefined> }> = [];
  const deadLettered: Array<{ events: TelemetryEvent[]; rows: RejectedRow[]; error: string }> = [];
  let checkpoint: Json | undefined;
  const base: ComponentContext = {
    id,
    kind,
    type,
    logger: pino({ level: 'silent' }),
    metrics: new MetricsRegistry({ processMetrics: false }).forComponent(id, kind, type),
    dataDir,
    state: { get: (k) => state.get(k), set: (k, v) => void state.set(k, v), delete: (k) => void state.delete(k) },
    signal: controller.signal,
    provide: (key, value) => resources.provide(id, key, value),
    use: (key, from) => resources.use(key, from),
    publish: (v) => void published.set(id, v),
    lookup: (other) => published.get(other),
  };
  const source: SourceContext = {
    ...base,
    async emit(events, cp) {
      emitted.push({ events, checkpoint: cp });
      if (cp !== undefined) checkpoint = cp;
      return 'accepted';
    },
    async emitEncoded(batches, cp) {
      emitted.push({ events: batches.flatMap((b) => decodeBatch(b.data)), checkpoint: cp, origins: batches.map((b) => b.origin) });
      if (cp !== undefined) checkpoint = cp;
      return 'accepted';
    },
    isBlocked: () => false,
    deadLetter: (events, rows, error) => void deadLettered.push({ events, rows, error }),
    get checkpoint() {
      return checkpoint;
    },
  };
  return { ctx: kind === 'source' ? source : base, source, emitted, deadLettered, abort: () => controller.abort() };
}
