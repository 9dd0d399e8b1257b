import type { TelemetryEvent } from '../events.js';
import type { TransformInstance } from '../plugin/types.js';
import type { OutputRef, Topology } from '../topology/graph.js';

export type TapListener = (events: readonly TelemetryEvent[], output: string) => void;
export type TransformFailure = (transformId: string, error: unknown) => void;

/** The input of a transform that threw, bound for the dead-letter table with the source's batch. */
export interface FailedInput {
  readonly transform: string;
  readonly error: unknown;
  readonly input: TelemetryEvent[];
}

/**
 * A source's batch after the transforms: per sink, the event arrays that reach it, and the inputs
 * of transforms that threw. Nothing of it is durable until the emitter commits it, so a batch
 * refused for a full queue leaves no trace (docs/delivery.md#when-a-destination-is-down).
 */
export interface Routed {
  readonly sinks: Map<string, TelemetryEvent[][]>;
  readonly failed: FailedInput[];
}

/**
 * Runs a source's batch through the transform DAG (synchronously, in memory) and collects, per
 * sink, the event arrays that reach it. A transform may mutate what it receives, so when an output
 * feeds more than one consumer, each transform gets its own copy; sinks keep the original, which
 * no transform touches afterwards.
 */
export class Router {
  private readonly taps = new Map<string, Set<TapListener>>();

  constructor(
    private topology: Topology,
    private transforms: ReadonlyMap<string, TransformInstance>,
    private readonly onTransformError: TransformFailure,
    private readonly onTransformRecovered: (id: string) => void = () => undefined,
  ) {}

  /** Transforms whose last batch threw: the next batch they process brings them back to running. */
  private readonly failing = new Set<string>();

  /** Swap in a rebuilt graph (on reload); taps stay attached. */
  update(topology: Topology, transforms: ReadonlyMap<string, TransformInstance>): void {
    this.topology = topology;
    this.transforms = transforms;
  }

  route(sourceId: string, events: TelemetryEvent[]): Routed {
    const out: Routed = { sinks: new Map(), failed: [] };
    if (events.length > 0) this.deliver({ component: sourceId, output: '' }, events, out);
    return out;
  }

  /** Whether someone is watching `componentId`'s output (then its events must exist as objects). */
  isTapped(componentId: string): boolean {
    return this.taps.has(componentId);
  }

  tap(componentId: string, listener: TapListener): () => void {
    let set = this.taps.get(componentId);
    if (!set) {
      set = new Set();
      this.taps.set(componentId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.taps.delete(componentId);
    };
  }

  private deliver(ref: OutputRef, events: TelemetryEvent[], out: Routed): void {
    const listeners = this.taps.get(ref.component);
    if (listeners) for (const l of listeners) l(events, ref.output);
    const consumers = this.topology.consumers(ref);
    if (consumers.length === 0) return;
    let sinks = 0;
    for (const c of consumers) {
      if (c.kind !== 'sink') continue;
      sinks++;
      let list = out.sinks.get(c.id);
      if (!list) {
        list = [];
        out.sinks.set(c.id, list);
      }
      list.push(events);
    }
    const transforms = consumers.length - sinks;
    let seen = 0;
    for (const c of consumers) {
      if (c.kind !== 'transform') continue;
      seen++;
      const instance = this.transforms.get(c.id);
      if (!instance) continue;
      const ownsInput = sinks === 0 && seen === transforms;
      const input = ownsInput ? events : structuredClone(events);
      let result;
      try {
        result = instance.process(input);
      } catch (err) {
        this.failing.add(c.id);
        this.onTransformError(c.id, err);
        out.failed.push({ transform: c.id, error: err, input: ownsInput ? input : structuredClone(events) });
        continue;
      }
      if (this.failing.size > 0 && this.failing.delete(c.id)) this.onTransformRecovered(c.id);
      if (Array.isArray(result)) {
        if (result.length > 0) this.deliver({ component: c.id, output: '' }, result, out);
      } else {
        for (const [name, evs] of Object.entries(result)) if (evs.length > 0) this.deliver({ component: c.id, output: name }, evs, out);
      }
    }
  }
}
