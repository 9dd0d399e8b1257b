import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ComponentKind } from '../plugin/types.js';
import type { ConnectionMetrics } from '../http/limits.js';

/**
 * The agent's own telemetry (docs/operations.md#metrics-reference). Hot paths bump plain numbers on a
 * per-component stats object; prom-client reads them only when /metrics is scraped, so counting
 * costs an addition, not a label lookup.
 */

export interface ComponentStats {
  id: string;
  kind: ComponentKind;
  type: string;
  receivedEvents: number;
  receivedBytes: number;
  sentEvents: number;
  sentBytes: number;
  dropped: Map<string, number>;
  errors: Map<string, number>;
}

/** A plugin-specific counter or gauge, already bound to the component. */
export interface BoundCounter {
  inc(n?: number): void;
}
export interface BoundGauge {
  set(v: number): void;
}
/** A counter bound to the component with labels of its own (their values must stay few). */
export interface LabelledCounter<L extends string> {
  inc(labels: Readonly<Record<L, string>>, n?: number): void;
}

export interface ComponentMetrics {
  readonly stats: ComponentStats;
  received(events: number, bytes?: number): void;
  sent(events: number, bytes?: number): void;
  /** Events lost on purpose (queue full with drop_newest, cardinality limit, ...). */
  dropped(events: number, reason: string): void;
  /** One error of a low-cardinality `type` (e.g. `connect`, `parse`, `write`). */
  error(type: string, n?: number): void;
  /** `thermocline_<plugin type>_<name>`, labelled with the component id. */
  counter(name: string, help: string): BoundCounter;
  gauge(name: string, help: string): BoundGauge;
  /** `thermocline_<plugin type>_<name>` with `component_id` and `labelNames`, e.g. per event type and reason. */
  labelledCounter<L extends string>(name: string, help: string, labelNames: readonly L[]): LabelledCounter<L>;
  /** The connection metrics of an HTTP listener the component runs, labelled `listener="<kind>s.<id>"` (its config table). */
  connections(): ConnectionMetrics;
}

export interface QueueGaugeSource {
  /** Current queue depth per sink. */
  queueStats(): Array<{ sink: string; events: number; bytes: number; batches: number; maxBytes: number; oldestAgeSecs: number }>;
}

const componentLabels = ['component_id', 'component_kind', 'component_type'] as const;

/** The queue database as a whole, read when /metrics is scraped. */
export interface StoreGaugeSource {
  fileBytes(): { db: number; wal: number };
  deadLetterBytes(): number;
  deadLetterCount(): number;
}

/** The agent's memory limit (src/core/runtime/memory-guard.ts), read when /metrics is scraped. */
export interface MemoryGaugeSource {
  usedBytes(): number;
  limitBytes(): number;
  limited(): boolean;
}

export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly components = new Map<string, ComponentStats>();
  private readonly custom = new Map<string, Counter | Gauge>();
  private queueSource: QueueGaugeSource | undefined;
  readonly deliveryLatency: Histogram<'component_id'>;
  private readonly connectionsRefused: Counter<'listener'>;
  private readonly connectionsOpen: Gauge<'listener'>;
  private readonly tapDropped: Counter<'component_id'>;
  private storeSource: StoreGaugeSource | undefined;
  private memorySource: MemoryGaugeSource | undefined;
  private readonly deadLettersPruned: Counter<'reason'>;
  private readonly queueReclaimed: Counter;

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'thermocline_' });
    const stats = () => [...this.components.values()];
    const labels = (s: ComponentStats) => ({ component_id: s.id, component_kind: s.kind, component_type: s.type });
    const fromStats = (name: string, help: string, pick: (s: ComponentStats) => number) =>
      new Counter({
        name,
        help,
        labelNames: componentLabels,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const s of stats()) this.inc(labels(s), pick(s));
        },
      });
    fromStats('thermocline_component_received_events_total', 'Events received by the component.', (s) => s.receivedEvents);
    fromStats('thermocline_component_received_bytes_total', 'Bytes received by the component (wire or file bytes).', (s) => s.receivedBytes);
    fromStats('thermocline_component_sent_events_total', 'Events the component passed on or delivered.', (s) => s.sentEvents);
    fromStats('thermocline_component_sent_bytes_total', 'Encoded bytes the component delivered.', (s) => s.sentBytes);
    new Counter({
      name: 'thermocline_component_dropped_events_total',
      help: 'Events dropped on purpose, by reason.',
      labelNames: [...componentLabels, 'reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of stats()) for (const [reason, n] of s.dropped) this.inc({ ...labels(s), reason }, n);
      },
    });
    new Counter({
      name: 'thermocline_component_errors_total',
      help: 'Errors by type.',
      labelNames: [...componentLabels, 'error_type'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of stats()) for (const [error_type, n] of s.errors) this.inc({ ...labels(s), error_type }, n);
      },
    });
    const queue = () => this.queueSource?.queueStats() ?? [];
    const queueGauge = (name: string, help: string, pick: (q: ReturnType<QueueGaugeSource['queueStats']>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['component_id'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const q of queue()) this.set({ component_id: q.sink }, pick(q));
        },
      });
    queueGauge('thermocline_buffer_events', 'Events waiting in the sink queue.', (q) => q.events);
    queueGauge('thermocline_buffer_bytes', 'Encoded bytes waiting in the sink queue.', (q) => q.bytes);
    queueGauge('thermocline_buffer_batches', 'Batches waiting in the sink queue.', (q) => q.batches);
    queueGauge('thermocline_buffer_max_bytes', 'Configured capacity of the sink queue.', (q) => q.maxBytes);
    this.deliveryLatency = new Histogram({
      name: 'thermocline_delivery_latency_seconds',
      help: 'Time from enqueue to acknowledged delivery, per batch.',
      labelNames: ['component_id'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [this.registry],
    });
    // Read at scrape time like the buffer gauges: set after deliveries, it would freeze during
    // an outage, exactly when it matters.
    queueGauge('thermocline_checkpoint_lag_seconds', 'Age of the oldest undelivered batch in the sink queue (0 when empty).', (q) => q.oldestAgeSecs);
    this.connectionsRefused = new Counter({
      name: 'thermocline_http_connections_refused_total',
      help: 'Connections an HTTP listener closed on arrival because max_connections were open.',
      labelNames: ['listener'],
      registers: [this.registry],
    });
    this.connectionsOpen = new Gauge({
      name: 'thermocline_http_connections_open',
      help: 'Connections open on an HTTP listener.',
      labelNames: ['listener'],
      registers: [this.registry],
    });
    const store = () => this.storeSource;
    const storeGauge = (name: string, help: string, labelNames: string[], set: (g: Gauge, s: StoreGaugeSource) => void) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          const s = store();
          if (s) set(this, s);
        },
      });
    storeGauge('thermocline_queue_file_bytes', 'Size on disk of the queue database, by file (the database and its write-ahead log).', ['file'], (g, s) => {
      const { db, wal } = s.fileBytes();
      g.set({ file: 'db' }, db);
      g.set({ file: 'wal' }, wal);
    });
    storeGauge('thermocline_dead_letter_bytes', 'Bytes held in the dead-letter table.', [], (g, s) => g.set(s.deadLetterBytes()));
    storeGauge('thermocline_dead_letter_entries', 'Entries in the dead-letter table.', [], (g, s) => g.set(s.deadLetterCount()));
    this.deadLettersPruned = new Counter({
      name: 'thermocline_dead_letters_pruned_total',
      help: 'Dead letters deleted by the retention limits, by the limit that deleted them.',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.queueReclaimed = new Counter({
      name: 'thermocline_queue_reclaimed_bytes_total',
      help: 'Bytes of free pages the queue database gave back to the file system.',
      registers: [this.registry],
    });
    const memory = () => this.memorySource;
    const memoryGauge = (name: string, help: string, pick: (m: MemoryGaugeSource) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const m = memory();
          if (m) this.set(pick(m));
        },
      });
    memoryGauge('thermocline_memory_used_bytes', "What the agent's JavaScript holds (V8 heap in use plus buffers), as the memory limit reads it.", (m) => m.usedBytes());
    memoryGauge('thermocline_memory_limit_bytes', '`[memory] limit`; 0 when off.', (m) => m.limitBytes());
    memoryGauge('thermocline_memory_limited', '1 while the memory limit holds sources back, else 0.', (m) => (m.limited() ? 1 : 0));
    this.tapDropped = new Counter({
      name: 'thermocline_api_tap_dropped_events_total',
      help: 'Events a /tap reader missed because it read slower than they flowed.',
      labelNames: ['component_id'],
      registers: [this.registry],
    });
  }

  /** `listener` is the config table of the listener: `api`, `sources.<id>`. */
  connections(listener: string): ConnectionMetrics {
    this.connectionsRefused.inc({ listener }, 0);
    return {
      refused: () => this.connectionsRefused.inc({ listener }),
      open: (n) => this.connectionsOpen.set({ listener }, n),
    };
  }

  tapDroppedEvents(component: string, n: number): void {
    this.tapDropped.inc({ component_id: component }, n);
  }

  setQueueSource(source: QueueGaugeSource): void {
    this.queueSource = source;
  }

  setStoreSource(source: StoreGaugeSource): void {
    this.storeSource = source;
    for (const reason of ['max_age', 'max_bytes']) this.deadLettersPruned.inc({ reason }, 0);
  }

  setMemorySource(source: MemoryGaugeSource): void {
    this.memorySource = source;
  }

  deadLettersPrunedTotal(reason: 'max_age' | 'max_bytes', n: number): void {
    this.deadLettersPruned.inc({ reason }, n);
  }

  queueReclaimedBytes(n: number): void {
    this.queueReclaimed.inc(n);
  }

  /** Stats survive a reload of the component: counters stay monotonic. */
  forComponent(id: string, kind: ComponentKind, type: string): ComponentMetrics {
    const key = `${kind}:${id}`;
    let stats = this.components.get(key);
    if (!stats || stats.type !== type) {
      stats = { id, kind, type, receivedEvents: 0, receivedBytes: 0, sentEvents: 0, sentBytes: 0, dropped: new Map(), errors: new Map() };
      this.components.set(key, stats);
    }
    const s = stats;
    const bump = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);
    return {
      stats: s,
      received(events, bytes = 0) {
        s.receivedEvents += events;
        s.receivedBytes += bytes;
      },
      sent(events, bytes = 0) {
        s.sentEvents += events;
        s.sentBytes += bytes;
      },
      dropped: (events, reason) => bump(s.dropped, reason, events),
      error: (type, n = 1) => bump(s.errors, type, n),
      counter: (name, help) => {
        const metric = this.customMetric('counter', `thermocline_${type}_${name}`, help) as Counter;
        return { inc: (n = 1) => metric.inc({ component_id: id }, n) };
      },
      gauge: (name, help) => {
        const metric = this.customMetric('gauge', `thermocline_${type}_${name}`, help) as Gauge;
        return { set: (v) => metric.set({ component_id: id }, v) };
      },
      labelledCounter: (name, help, labelNames) => {
        const metric = this.customMetric('counter', `thermocline_${type}_${name}`, help, labelNames) as Counter;
        return { inc: (labels, n = 1) => metric.inc({ ...labels, component_id: id }, n) };
      },
      connections: () => this.connections(`${kind}s.${id}`),
    };
  }

  componentStats(): ComponentStats[] {
    return [...this.components.values()];
  }

  private customMetric(kind: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[] = []): Counter | Gauge {
    let metric = this.custom.get(name);
    if (!metric) {
      const opts = { name, help, labelNames: ['component_id', ...labelNames], registers: [this.registry] };
      metric = kind === 'counter' ? new Counter(opts) : new Gauge(opts);
      this.custom.set(name, metric);
    }
    return metric;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
