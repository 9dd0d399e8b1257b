import type { Logger } from 'pino';
import { DiskQueue, type SinkQueue } from '../buffer/queue.js';
import { MemoryQueue } from '../buffer/memory-queue.js';
import type { QueueStore } from '../buffer/store.js';
import type { ComponentSpec, SinkSettings } from '../config/load.js';
import type { BatchDefaults, SinkInstance, SinkPlugin } from '../plugin/types.js';
import type { ComponentMetrics, MetricsRegistry } from '../telemetry/metrics.js';
import { SinkRunner } from './sink-runner.js';
import type { ComponentStatus } from './status.js';

const DEFAULT_BATCH: BatchDefaults = { max_events: 10_000, max_bytes: 10 * 1024 * 1024, timeout_secs: 1 };

/** A sink's batch limits: the config's, else the plugin's defaults, else the runtime's. */
export function batchLimits(settings: SinkSettings, plugin: SinkPlugin): BatchDefaults {
  const pick = <K extends keyof BatchDefaults>(k: K) => settings.batch[k] ?? plugin.batch?.[k] ?? DEFAULT_BATCH[k];
  return { max_events: pick('max_events'), max_bytes: pick('max_bytes'), timeout_secs: pick('timeout_secs') };
}

export interface SinkPipelineOptions {
  spec: ComponentSpec & { sink: SinkSettings };
  plugin: SinkPlugin;
  instance: SinkInstance;
  store: QueueStore;
  /** The queue this sink had before a reload, kept with its contents. */
  existing: SinkQueue | undefined;
  logger: Logger;
  metrics: ComponentMetrics;
  registry: MetricsRegistry;
  status: ComponentStatus;
}

/**
 * What sits between the router and a sink: its queue and the runner that delivers from it
 * (docs/ARCHITECTURE.md#data-flow).
 */
export class SinkPipeline {
  readonly queue: SinkQueue;
  readonly runner: SinkRunner;

  constructor(o: SinkPipelineOptions) {
    const options = o.spec.sink.buffer;
    // On reload a sink keeps its queue object, and so a memory queue its contents: new limits
    // apply in place; a new buffer type only at the next start (see SinkQueue.reconfigure).
    if (o.existing && o.existing.options.type !== options.type) {
      o.logger.warn({ component_id: o.spec.id, from: o.existing.options.type, to: options.type }, 'buffer.type changed: it takes effect when the agent restarts');
    }
    o.existing?.reconfigure(options);
    this.queue = o.existing ?? (options.type === 'memory' ? new MemoryQueue(o.store, o.spec.id, options) : new DiskQueue(o.store, o.spec.id, options));
    this.runner = new SinkRunner({
      id: o.spec.id,
      instance: o.store.instance,
      instanceOf: o.instance,
      queue: this.queue,
      batch: batchLimits(o.spec.sink, o.plugin),
      retry: o.spec.sink.retry,
      logger: o.logger,
      metrics: o.metrics,
      registry: o.registry,
      status: o.status,
    });
  }

  start(): void {
    this.runner.start();
  }

  /** Stop delivering (a memory queue drains until `drain` aborts). */
  stop(drain: AbortSignal): Promise<void> {
    return this.runner.stop(drain);
  }
}
