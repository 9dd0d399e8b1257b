import type { SinkQueue } from '../buffer/queue.js';
import type { AppendedBatch } from '../buffer/recent-batches.js';
import type { QueueStore } from '../buffer/store.js';
import { decodeBatch, encodeBatch, verifyBatch } from '../codec/batch.js';
import { ByteWriter } from '../codec/writer.js';
import { errorMessage, ShutdownError } from '../errors.js';
import type { TelemetryEvent } from '../events.js';
import type { EmitOptions, EmitOrigin, EmitOutcome, EncodedEmit, Json } from '../plugin/types.js';
import type { ComponentMetrics } from '../telemetry/metrics.js';
import type { Topology } from '../topology/graph.js';
import type { MemoryGuard } from './memory-guard.js';
import type { Routed, Router } from './router.js';
import { aborted } from './timing.js';

/** What one emitted batch becomes: a routing per upstream batch (one part without origins). */
interface RoutedPart {
  readonly origin?: string;
  readonly routed: Routed;
}

/** A batch taken as it arrived: appended as it is to the queues of `sinks`. */
interface EncodedPart {
  readonly origin?: string;
  readonly data: Buffer;
  readonly count: number;
  readonly sinks: readonly string[];
}

type Part = RoutedPart | EncodedPart;

/** One batch appended to one sink's queue inside a commit. */
interface Appended {
  sink: string;
  queue: SinkQueue;
  batch: AppendedBatch;
}

function sinksOfPart(part: Part): Iterable<string> {
  return 'routed' in part ? part.routed.sinks.keys() : part.sinks;
}

/** A batch refused with `'full'`, kept so that emitting it again does not run the transforms again. */
interface Refused {
  readonly source: string;
  readonly generation: number;
  readonly parts: readonly Part[];
}

/** Longest upstream identity a batch may carry; it becomes part of every token at the destination. */
export const MAX_ORIGIN_LENGTH = 256;

/**
 * The commit path of every source (docs/delivery.md#how): run the transforms, wait while a
 * blocking queue that the routed events reach is full, then append the results to each sink's
 * queue together with the source's checkpoint (and the inputs of transforms that threw, to the
 * dead-letter table) in one SQLite transaction. The promise a source awaits resolves only after
 * that transaction committed.
 *
 * Back-pressure is per destination (docs/delivery.md#when-a-destination-is-down): a batch waits
 * for the queues it reaches, not for every queue its source could reach, so a full hot-tier
 * queue does not hold back data bound for another sink.
 */
export class Emitter {
  private readonly writer = new ByteWriter(1 << 20);
  private readonly reachable = new Map<string, string[]>();
  /**
   * Keyed by the source's own array: held only while the source holds the batch, so a source
   * that gives up on a refused batch (an OTLP request answered 503) leaves nothing behind.
   */
  private refused = new WeakMap<object, Refused>();
  /** Bumped on reload: a routing made with the old graph is made again. */
  private generation = 0;

  constructor(
    private readonly store: QueueStore,
    private readonly router: Router,
    private topology: Topology,
    private readonly queues: ReadonlyMap<string, SinkQueue>,
    private readonly sinkMetrics: (sink: string) => ComponentMetrics | undefined,
    private readonly memory?: MemoryGuard,
  ) {}

  update(topology: Topology): void {
    this.topology = topology;
    this.reachable.clear();
    this.refused = new WeakMap();
    this.generation++;
  }

  private sinksOf(source: string): string[] {
    let list = this.reachable.get(source);
    if (!list) {
      list = [...this.topology.reachableSinks(source)];
      this.reachable.set(source, list);
    }
    return list;
  }

  /**
   * True while some blocking queue anywhere downstream of `source` is full. Conservative: for
   * sources that must decide before they have data (a scraper skipping a due scrape); a batch in
   * hand is better judged by `emit`, which looks only at the queues it reaches.
   */
  isBlocked(source: string): boolean {
    if (this.memory?.isOver()) return true;
    for (const sink of this.sinksOf(source)) {
      const q = this.queues.get(sink);
      if (q && q.options.when_full === 'block' && q.isFull()) return true;
    }
    return false;
  }

  /**
   * What the routed batch must wait for, if anything: room in the first full blocking queue it
   * reaches, or the agent's memory to fall below its limit.
   */
  private blocker(parts: readonly Part[]): (() => Promise<void>) | undefined {
    for (const part of parts) {
      for (const sink of sinksOfPart(part)) {
        const q = this.queues.get(sink);
        if (q && q.options.when_full === 'block' && q.isFull()) return () => q.whenRoom();
      }
    }
    const memory = this.memory;
    if (memory?.isOver()) return () => memory.whenUnder();
    return undefined;
  }

  private route(source: string, events: TelemetryEvent[], origins: readonly EmitOrigin[] | undefined): readonly Part[] {
    if (origins === undefined) return [{ routed: this.router.route(source, events) }];
    // Each upstream batch is transformed on its own: what a transform makes of one must not
    // depend on its neighbours in this emit, or two agents would store different batches under
    // one identity.
    const parts: Part[] = [];
    let from = 0;
    for (const { id, count } of origins) {
      parts.push({ origin: id, routed: this.router.route(source, events.slice(from, from + count)) });
      from += count;
    }
    return parts;
  }

  /**
   * True when what `source` emits reaches its sinks unchanged: every consumer of its output is a
   * sink and nobody is tapping it. Then an encoded batch is queued as it arrived.
   */
  private passesThrough(source: string): boolean {
    if (this.router.isTapped(source)) return false;
    const consumers = this.topology.consumers({ component: source, output: '' });
    return consumers.length > 0 && consumers.every((c) => c.kind === 'sink');
  }

  private routeEncoded(source: string, batches: readonly EncodedEmit[], counts: readonly number[]): readonly Part[] {
    if (this.passesThrough(source)) {
      const sinks = this.sinksOf(source);
      return batches.map((b, i) => ({ ...(b.origin === undefined ? {} : { origin: b.origin }), data: b.data, count: counts[i] as number, sinks }));
    }
    return batches.map((b) => ({ ...(b.origin === undefined ? {} : { origin: b.origin }), routed: this.router.route(source, decodeBatch(b.data)) }));
  }

  async emit(source: string, events: TelemetryEvent[], checkpoint: Json | undefined, options: EmitOptions | undefined, signal: AbortSignal, metrics: ComponentMetrics): Promise<EmitOutcome> {
    if (signal.aborted) throw new ShutdownError();
    if (options?.origins !== undefined) checkOrigins(source, events.length, options.origins);
    return this.admit(source, events, events.length, () => this.route(source, events, options?.origins), checkpoint, options?.wait, signal, metrics);
  }

  /** See `SourceContext.emitEncoded`. */
  async emitEncoded(
    source: string,
    batches: readonly EncodedEmit[],
    checkpoint: Json | undefined,
    options: Pick<EmitOptions, 'wait'> | undefined,
    signal: AbortSignal,
    metrics: ComponentMetrics,
  ): Promise<EmitOutcome> {
    if (signal.aborted) throw new ShutdownError();
    const counts = batches.map((b) => verifyBatch(b.data));
    for (const b of batches) if (b.origin !== undefined) checkOriginId(source, b.origin);
    const total = counts.reduce((n, c) => n + c, 0);
    return this.admit(source, batches, total, () => this.routeEncoded(source, batches, counts), checkpoint, options?.wait, signal, metrics);
  }

  /**
   * Routes the batch (once, unless the graph is reloaded meanwhile), waits for room in the
   * blocking queues it reaches or refuses it with 'full', then commits it. `key` is the source's
   * own array, under which a refused routing is kept for the next attempt.
   */
  private async admit(
    source: string,
    key: object,
    count: number,
    route: () => readonly Part[],
    checkpoint: Json | undefined,
    wait: boolean | undefined,
    signal: AbortSignal,
    metrics: ComponentMetrics,
  ): Promise<EmitOutcome> {
    let generation = this.generation;
    const kept = this.refused.get(key);
    let parts = kept && kept.source === source && kept.generation === generation ? kept.parts : route();
    for (let waitFor = this.blocker(parts); waitFor; waitFor = this.blocker(parts)) {
      if (wait === false) {
        this.refused.set(key, { source, generation, parts });
        return 'full';
      }
      await Promise.race([waitFor(), aborted(signal)]);
      if (signal.aborted) throw new ShutdownError();
      if (generation !== this.generation) {
        generation = this.generation;
        parts = route();
      }
    }
    this.refused.delete(key);
    metrics.received(count);
    this.commit(source, parts, checkpoint);
    metrics.sent(count);
    return 'accepted';
  }

  /** Append routed events and the checkpoint atomically; counters move only after the commit. */
  private commit(source: string, parts: readonly Part[], checkpoint: Json | undefined): void {
    const appended: Appended[] = [];
    const createdUs = Date.now() * 1000;
    this.store.transaction(() => {
      for (const part of parts) appended.push(...this.append(part, createdUs));
      if (checkpoint !== undefined) {
        this.store.putCheckpoint(source, checkpoint, createdUs);
      }
    });
    for (const a of appended) {
      a.queue.committed(a.batch);
      // A sink "receives" what lands in its queue (as Vector counts it), so `top` shows its IN/s.
      this.sinkMetrics(a.sink)?.received(a.batch.events, a.batch.bytes);
    }
  }

  /** One part's batch into each queue it reaches, inside the caller's transaction. */
  private append(part: Part, createdUs: number): Appended[] {
    if (!('routed' in part)) return this.appendEncoded(part, createdUs);
    const appended: Appended[] = [];
    // Sinks fed the very same arrays share one encoding.
    let lastKey: TelemetryEvent[][] | undefined;
    let lastBlob: Buffer | undefined;
    let lastCount = 0;
    for (const [sink, arrays] of part.routed.sinks) {
      const queue = this.queues.get(sink);
      if (!queue) continue;
      const count = arrays.reduce((n, p) => n + p.length, 0);
      if (count === 0) continue;
      if (queue.options.when_full === 'drop_newest' && queue.isFull()) {
        this.sinkMetrics(sink)?.dropped(count, 'queue_full');
        continue;
      }
      if (!(lastKey && sameParts(lastKey, arrays))) {
        lastBlob = encodeBatch(arrays.length === 1 ? (arrays[0] as TelemetryEvent[]) : arrays.flat(), this.writer);
        lastKey = arrays;
        lastCount = count;
      }
      const seq = queue.append(lastBlob as Buffer, lastCount, createdUs, part.origin);
      appended.push({ sink, queue, batch: { seq, bytes: (lastBlob as Buffer).length, events: lastCount, createdUs, origin: part.origin } });
    }
    // A bug in a transform must not lose data silently: its input is kept with the batch.
    for (const f of part.routed.failed) {
      this.store.addDeadLetter({ sink: f.transform, seq: 0, error: `transform threw: ${errorMessage(f.error)}`, events: f.input.length, data: Buffer.from(encodeBatch(f.input)) });
    }
    return appended;
  }

  private appendEncoded(part: EncodedPart, createdUs: number): Appended[] {
    const appended: Appended[] = [];
    if (part.count === 0) return appended;
    for (const sink of part.sinks) {
      const queue = this.queues.get(sink);
      if (!queue) continue;
      if (queue.options.when_full === 'drop_newest' && queue.isFull()) {
        this.sinkMetrics(sink)?.dropped(part.count, 'queue_full');
        continue;
      }
      // A source hands its encoded batches over (SourceContext.emitEncoded): no copy is needed.
      const seq = queue.append(part.data, part.count, createdUs, part.origin, true);
      appended.push({ sink, queue, batch: { seq, bytes: part.data.length, events: part.count, createdUs, origin: part.origin } });
    }
    return appended;
  }
}

function checkOriginId(source: string, id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ORIGIN_LENGTH) {
    throw new TypeError(`source "${source}" emitted an origin id of ${String((id as string | undefined)?.length ?? id)} characters; ids are 1 to ${MAX_ORIGIN_LENGTH} characters`);
  }
}

function checkOrigins(source: string, total: number, origins: readonly EmitOrigin[]): void {
  let sum = 0;
  for (const { id, count } of origins) {
    checkOriginId(source, id);
    if (!Number.isInteger(count) || count < 0) throw new TypeError(`source "${source}" emitted origin "${id}" with count ${count}; counts are whole numbers ≥ 0`);
    sum += count;
  }
  if (sum !== total) throw new TypeError(`source "${source}" emitted ${total} events but its origins count ${sum}; the counts must add up to the events`);
}

function sameParts(a: TelemetryEvent[][], b: TelemetryEvent[][]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
