import type { SinkQueue } from '../buffer/queue.js';
import type { QueueStore } from '../buffer/store.js';
import { encodeBatch } from '../codec/batch.js';
import { ByteWriter } from '../codec/writer.js';
import { ShutdownError } from '../errors.js';
import type { TelemetryEvent } from '../events.js';
import type { EmitOptions, EmitOutcome, Json } from '../plugin/types.js';
import type { ComponentMetrics } from '../telemetry/metrics.js';
import type { Topology } from '../topology/graph.js';
import type { Router } from './router.js';
import { aborted } from './timing.js';

/**
 * The commit path of every source (docs/delivery.md#how): wait while a blocking sink queue downstream
 * is full, run the transforms, then append the results to each sink's queue together with the
 * source's checkpoint in one SQLite transaction. The promise a source awaits resolves only after
 * that transaction committed.
 */
export class Emitter {
  private readonly writer = new ByteWriter(1 << 20);
  private readonly reachable = new Map<string, string[]>();

  constructor(
    private readonly store: QueueStore,
    private readonly router: Router,
    private topology: Topology,
    private readonly queues: ReadonlyMap<string, SinkQueue>,
    private readonly sinkMetrics: (sink: string) => ComponentMetrics | undefined,
  ) {}

  update(topology: Topology): void {
    this.topology = topology;
    this.reachable.clear();
  }

  private sinksOf(source: string): string[] {
    let list = this.reachable.get(source);
    if (!list) {
      list = [...this.topology.reachableSinks(source)];
      this.reachable.set(source, list);
    }
    return list;
  }

  /** True while some blocking queue downstream of `source` is full. */
  isBlocked(source: string): boolean {
    return this.firstFull(source) !== undefined;
  }

  private firstFull(source: string): SinkQueue | undefined {
    for (const sink of this.sinksOf(source)) {
      const q = this.queues.get(sink);
      if (q && q.options.when_full === 'block' && q.isFull()) return q;
    }
    return undefined;
  }

  async emit(source: string, events: TelemetryEvent[], checkpoint: Json | undefined, options: EmitOptions | undefined, signal: AbortSignal, metrics: ComponentMetrics): Promise<EmitOutcome> {
    for (let full = this.firstFull(source); full; full = this.firstFull(source)) {
      if (signal.aborted) throw new ShutdownError();
      if (options?.wait === false) return 'full';
      await Promise.race([full.whenRoom(), aborted(signal)]);
    }
    if (signal.aborted) throw new ShutdownError();
    metrics.received(events.length);
    const routed = this.router.route(source, events);
    this.commit(source, routed, checkpoint);
    metrics.sent(events.length);
    return 'accepted';
  }

  /** Append routed events and the checkpoint atomically; counters move only after the commit. */
  private commit(source: string, routed: Map<string, TelemetryEvent[][]>, checkpoint: Json | undefined): void {
    const appended: Array<{ sink: string; queue: SinkQueue; events: number; bytes: number }> = [];
    const createdUs = Date.now() * 1000;
    this.store.transaction(() => {
      // Sinks fed the very same arrays share one encoding.
      let lastKey: TelemetryEvent[][] | undefined;
      let lastBlob: Buffer | undefined;
      let lastCount = 0;
      for (const [sink, parts] of routed) {
        const queue = this.queues.get(sink);
        if (!queue) continue;
        const count = parts.reduce((n, p) => n + p.length, 0);
        if (count === 0) continue;
        if (queue.options.when_full === 'drop_newest' && queue.isFull()) {
          this.sinkMetrics(sink)?.dropped(count, 'queue_full');
          continue;
        }
        if (!(lastKey && sameParts(lastKey, parts))) {
          lastBlob = encodeBatch(parts.length === 1 ? (parts[0] as TelemetryEvent[]) : parts.flat(), this.writer);
          lastKey = parts;
          lastCount = count;
        }
        queue.append(lastBlob as Buffer, lastCount, createdUs);
        appended.push({ sink, queue, events: lastCount, bytes: (lastBlob as Buffer).length });
      }
      if (checkpoint !== undefined) {
        this.store.putCheckpoint(source, checkpoint, createdUs);
      }
    });
    for (const a of appended) {
      a.queue.committed(a.events, a.bytes);
      // A sink "receives" what lands in its queue (as Vector counts it), so `top` shows its IN/s.
      this.sinkMetrics(a.sink)?.received(a.events, a.bytes);
    }
  }
}

function sameParts(a: TelemetryEvent[][], b: TelemetryEvent[][]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
