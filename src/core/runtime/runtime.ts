import type { Logger } from 'pino';
import { DiskQueue, MemoryQueue, type SinkQueue } from '../buffer/queue.js';
import { QueueStore } from '../buffer/store.js';
import { DataDirLock } from '../buffer/lock.js';
import { encodeBatch } from '../codec/batch.js';
import type { ComponentSpec, LoadedConfig } from '../config/load.js';
import { errorMessage, ThermoclineError } from '../errors.js';
import type { TelemetryEvent } from '../events.js';
import type { BatchDefaults, ComponentContext, SinkInstance, SourceContext, SourceInstance, TransformInstance } from '../plugin/types.js';
import { MetricsRegistry } from '../telemetry/metrics.js';
import { Emitter } from './emitter.js';
import { createLogger, RateLimitedLog } from './logger.js';
import { Router, type TapListener } from './router.js';
import { SinkRunner } from './sink-runner.js';
import { ComponentStatus } from './status.js';
import { backoffMs, sleep, withDeadline } from './timing.js';

const DEFAULT_BATCH: BatchDefaults = { max_events: 10_000, max_bytes: 10 * 1024 * 1024, timeout_secs: 1 };

interface Running {
  spec: ComponentSpec;
  status: ComponentStatus;
  controller: AbortController;
  /** The background start loop (first attempt, then retries with backoff). */
  starting?: Promise<void>;
}
interface RunningSource extends Running {
  instance: SourceInstance;
}
interface RunningTransform extends Running {
  instance: TransformInstance;
}
interface RunningSink extends Running {
  instance: SinkInstance;
  queue?: SinkQueue;
  runner?: SinkRunner;
}

export interface RuntimeOptions {
  logger?: Logger;
  metrics?: MetricsRegistry;
}

/**
 * Builds and runs the pipeline of a validated config: sinks first, then transforms, then sources;
 * stops in the reverse order within the shutdown timeout. Reload swaps only what changed and keeps
 * the queues.
 */
export class Runtime {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly store: QueueStore;
  private config: LoadedConfig;
  private readonly sources = new Map<string, RunningSource>();
  private readonly transforms = new Map<string, RunningTransform>();
  private readonly sinks = new Map<string, RunningSink>();
  private readonly queues = new Map<string, SinkQueue>();
  private readonly published = new Map<string, unknown>();
  private readonly router: Router;
  private readonly lock: DataDirLock;
  private readonly emitter: Emitter;
  private readonly errorLog: RateLimitedLog;
  private stopping: Promise<void> | undefined;

  private constructor(config: LoadedConfig, options: RuntimeOptions) {
    this.config = config;
    this.logger = options.logger ?? createLogger({ level: config.log.level, secrets: config.secrets });
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.lock = DataDirLock.acquire(config.dataDir);
    try {
      this.store = QueueStore.open(config.dataDir, { synchronous: config.queue.synchronous });
    } catch (err) {
      this.lock.release();
      throw err;
    }
    this.errorLog = new RateLimitedLog(this.logger);
    this.router = new Router(
      config.topology,
      new Map(),
      (id, err, input) => this.onTransformError(id, err, input),
      (id) => this.transforms.get(id)?.status.ok(),
    );
    this.emitter = new Emitter(this.store, this.router, config.topology, this.queues, (sink) => this.sinks.get(sink) && this.metricsOf(this.sinks.get(sink)!.spec));
    this.metrics.setQueueSource({
      queueStats: () =>
        [...this.queues.values()].map((q) => {
          const oldest = q.events > 0 ? q.head(1)[0] : undefined;
          const oldestAgeSecs = oldest ? Math.max(0, Date.now() - oldest.createdUs / 1000) / 1000 : 0;
          return { sink: q.sink, events: q.events, bytes: q.bytes, batches: q.batches, maxBytes: q.options.max_bytes, oldestAgeSecs };
        }),
    });
  }

  /** Create and start every component. A plugin that throws in `create` fails the start. */
  static async start(config: LoadedConfig, options: RuntimeOptions = {}): Promise<Runtime> {
    const rt = new Runtime(config, options);
    for (const w of config.warnings) rt.logger.warn(w);
    try {
      await rt.startComponents(config.components.map((c) => c.id));
    } catch (err) {
      await rt.stop();
      throw err;
    }
    rt.logger.info({ sources: rt.sources.size, transforms: rt.transforms.size, sinks: rt.sinks.size, data_dir: config.dataDir }, 'pipeline started');
    return rt;
  }

  get currentConfig(): LoadedConfig {
    return this.config;
  }

  private specOf(id: string): ComponentSpec {
    return this.config.components.find((c) => c.id === id) as ComponentSpec;
  }

  private metricsOf(spec: ComponentSpec) {
    return this.metrics.forComponent(spec.id, spec.kind, spec.type);
  }

  /** Start the given components in topological order (sinks, transforms, sources). */
  private async startComponents(ids: readonly string[]): Promise<void> {
    const wanted = new Set(ids);
    for (const node of this.config.topology.startOrder()) {
      if (!wanted.has(node.id)) continue;
      const spec = this.specOf(node.id);
      if (spec.kind === 'sink') await this.startSink(spec);
      else if (spec.kind === 'transform') this.startTransform(spec);
    }
    this.router.update(
      this.config.topology,
      new Map([...this.transforms].map(([id, t]) => [id, t.instance])),
    );
    this.emitter.update(this.config.topology);
    for (const node of this.config.topology.startOrder()) {
      if (wanted.has(node.id) && node.kind === 'source') await this.startSource(this.specOf(node.id));
    }
  }

  private context(spec: ComponentSpec, signal: AbortSignal): ComponentContext {
    const { store } = this;
    const id = spec.id;
    return {
      id,
      kind: spec.kind,
      type: spec.type,
      logger: this.logger.child({ component_id: id, component_kind: spec.kind, component_type: spec.type }),
      metrics: this.metricsOf(spec),
      dataDir: this.config.dataDir,
      state: {
        get: (key) => store.getState(id, key),
        set: (key, value) => store.setState(id, key, value),
        delete: (key) => store.deleteState(id, key),
      },
      signal,
      publish: (value) => this.published.set(id, value),
      lookup: (other) => this.published.get(other),
    };
  }

  private create<T>(spec: ComponentSpec, make: () => T): T {
    try {
      return make();
    } catch (err) {
      throw new ThermoclineError('TC_PLUGIN_CREATE', `${spec.kind}s.${spec.id} (type "${spec.type}") failed to start: ${errorMessage(err)}`, { cause: err });
    }
  }

  private async startSink(spec: ComponentSpec): Promise<void> {
    const controller = new AbortController();
    const status = new ComponentStatus(spec.id, spec.kind, spec.type);
    const ctx = this.context(spec, controller.signal);
    const plugin = spec.plugin;
    if (plugin.kind !== 'sink' || !spec.sink) throw new Error(`internal: ${spec.id} is not a sink`);
    const instance = this.create(spec, () => plugin.create(spec.options as never, ctx));
    const entry: RunningSink = { spec, status, controller, instance };
    if (plugin.acceptsInputs !== false) {
      const options = spec.sink.buffer;
      // On reload a sink keeps its queue object, and so a memory queue its contents: new limits
      // apply in place; a new buffer type only at the next start (see SinkQueue.reconfigure).
      const existing = this.queues.get(spec.id);
      if (existing && existing.options.type !== options.type) {
        this.logger.warn({ component_id: spec.id, from: existing.options.type, to: options.type }, 'buffer.type changed: it takes effect when the agent restarts');
      }
      existing?.reconfigure(options);
      const queue = existing ?? (options.type === 'memory' ? new MemoryQueue(this.store, spec.id, options) : new DiskQueue(this.store, spec.id, options));
      this.queues.set(spec.id, queue);
      entry.queue = queue;
      const batch: BatchDefaults = {
        max_events: spec.sink.batch.max_events ?? plugin.batch?.max_events ?? DEFAULT_BATCH.max_events,
        max_bytes: spec.sink.batch.max_bytes ?? plugin.batch?.max_bytes ?? DEFAULT_BATCH.max_bytes,
        timeout_secs: spec.sink.batch.timeout_secs ?? plugin.batch?.timeout_secs ?? DEFAULT_BATCH.timeout_secs,
      };
      entry.runner = new SinkRunner({
        id: spec.id,
        instance: this.store.instance,
        instanceOf: instance,
        queue,
        batch,
        retry: spec.sink.retry,
        logger: ctx.logger,
        metrics: ctx.metrics,
        registry: this.metrics,
        status,
      });
    }
    this.sinks.set(spec.id, entry);
    const healthcheck = spec.sink.healthcheck.enabled;
    await this.startWithRetry(entry, ctx.logger, async () => {
      await instance.start?.();
      if (healthcheck && instance.healthcheck) {
        try {
          await instance.healthcheck();
        } catch (err) {
          status.degrade(err);
          ctx.logger.error({ err: { message: errorMessage(err), code: (err as { code?: string }).code } }, `health check failed; data stays queued until it can be delivered: ${errorMessage(err)}`);
          entry.runner?.start();
          return false;
        }
      }
      entry.runner?.start();
      return true;
    });
  }

  private startTransform(spec: ComponentSpec): void {
    const controller = new AbortController();
    const status = new ComponentStatus(spec.id, spec.kind, spec.type);
    const ctx = this.context(spec, controller.signal);
    const plugin = spec.plugin;
    if (plugin.kind !== 'transform') throw new Error(`internal: ${spec.id} is not a transform`);
    const instance = this.create(spec, () => plugin.create(spec.options as never, ctx));
    const metrics = ctx.metrics;
    // Count what flows through a transform without asking every plugin to do it.
    const counted: TransformInstance = {
      process: (events) => {
        metrics.received(events.length);
        const out = instance.process(events);
        metrics.sent(Array.isArray(out) ? out.length : Object.values(out).reduce((n, e) => n + e.length, 0));
        return out;
      },
      stop: () => instance.stop?.(),
    };
    status.ok();
    this.transforms.set(spec.id, { spec, status, controller, instance: counted });
  }

  private async startSource(spec: ComponentSpec): Promise<void> {
    const controller = new AbortController();
    const status = new ComponentStatus(spec.id, spec.kind, spec.type);
    const base = this.context(spec, controller.signal);
    const plugin = spec.plugin;
    if (plugin.kind !== 'source') throw new Error(`internal: ${spec.id} is not a source`);
    const { store, emitter } = this;
    const ctx: SourceContext = {
      ...base,
      emit: (events: TelemetryEvent[], checkpoint, options) => emitter.emit(spec.id, events, checkpoint, options, controller.signal, base.metrics),
      isBlocked: () => emitter.isBlocked(spec.id),
      deadLetter: (events, rows, error) => {
        store.addDeadLetter({ sink: spec.id, seq: 0, error, events: events.length, data: Buffer.from(encodeBatch(events)), rows });
        base.metrics.dropped(events.length, 'dead_letter');
      },
      get checkpoint() {
        return store.getCheckpoint(spec.id);
      },
    };
    const instance = this.create(spec, () => plugin.create(spec.options as never, ctx));
    const entry: RunningSource = { spec, status, controller, instance };
    this.sources.set(spec.id, entry);
    await this.startWithRetry(entry, base.logger, async () => {
      await instance.start();
      return true;
    });
  }

  /**
   * Try `start` once now; if it fails, mark the component failed and keep retrying in the
   * background with backoff (a database that is down at start only grows the queue).
   */
  private async startWithRetry(entry: Running, logger: Logger, start: () => Promise<boolean>): Promise<void> {
    const signal = entry.controller.signal;
    const attempt = async (): Promise<boolean> => {
      try {
        if (await start()) entry.status.ok();
        return true;
      } catch (err) {
        entry.status.fail(err);
        logger.error({ err: { message: errorMessage(err), code: (err as { code?: string }).code } }, `failed to start, will retry: ${errorMessage(err)}`);
        return false;
      }
    };
    if (await attempt()) return;
    entry.starting = (async () => {
      for (let n = 1; !signal.aborted; n++) {
        if (!(await sleep(backoffMs(n, 1, 60), signal))) return;
        if (await attempt()) return;
      }
    })();
  }

  private onTransformError(id: string, err: unknown, input: TelemetryEvent[]): void {
    const t = this.transforms.get(id);
    if (t) {
      this.metricsOf(t.spec).error('transform');
      t.status.degrade(err);
    }
    // The input is kept in the dead-letter table: a bug in a transform must not lose data silently.
    this.store.addDeadLetter({ sink: id, seq: 0, error: `transform threw: ${errorMessage(err)}`, events: input.length, data: Buffer.from(encodeBatch(input)) });
    this.errorLog.error(`transform:${id}`, { component_id: id, err }, `transform "${id}" threw; its input batch was moved to the dead-letter table: ${errorMessage(err)}`);
  }

  /** Observe events leaving a component (sources and transforms), for `thermocline tap`. */
  tap(componentId: string, listener: TapListener): () => void {
    return this.router.tap(componentId, listener);
  }

  statuses(): ComponentStatus[] {
    return [...this.sinks.values(), ...this.transforms.values(), ...this.sources.values()].map((c) => c.status);
  }

  queueOf(sink: string): SinkQueue | undefined {
    return this.queues.get(sink);
  }

  /** Stop components in reverse start order; bounded by `shutdown.timeout_secs`. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const deadline = Date.now() + this.config.shutdown.timeout_secs * 1000;
    const drain = new AbortController();
    const drainTimer = setTimeout(() => drain.abort(), Math.max(0, deadline - Date.now() - 1000));
    try {
      await this.stopComponents([...this.sources.keys(), ...this.transforms.keys(), ...this.sinks.keys()], deadline, drain.signal);
    } finally {
      clearTimeout(drainTimer);
      this.store.close();
      this.lock.release();
    }
    this.logger.info('pipeline stopped');
  }

  private async stopComponents(ids: readonly string[], deadline: number, drain: AbortSignal, keepQueues: ReadonlySet<string> = new Set()): Promise<void> {
    const remaining = () => Math.max(0, deadline - Date.now());
    const stopOne = async (entry: Running, stop: () => Promise<unknown>) => {
      entry.controller.abort();
      const ok = await withDeadline(async () => {
        await entry.starting;
        await stop();
      }, remaining());
      if (!ok) this.logger.warn({ component_id: entry.spec.id }, 'component did not stop within the shutdown timeout');
      entry.status.stop();
    };
    const wanted = new Set(ids);
    const pick = <T extends Running>(m: Map<string, T>) => [...m.values()].filter((e) => wanted.has(e.spec.id));
    await Promise.all(pick(this.sources).map((s) => stopOne(s, () => s.instance.stop())));
    for (const s of pick(this.sources)) this.sources.delete(s.spec.id);
    await Promise.all(pick(this.transforms).map((t) => stopOne(t, async () => t.instance.stop?.())));
    for (const t of pick(this.transforms)) this.transforms.delete(t.spec.id);
    const order = this.config.topology.startOrder().filter((n) => n.kind === 'sink').map((n) => n.id).reverse();
    const sinks = pick(this.sinks).sort((a, b) => order.indexOf(a.spec.id) - order.indexOf(b.spec.id));
    for (const s of sinks) {
      await stopOne(s, async () => {
        await s.runner?.stop(drain);
        await s.instance.stop?.();
      });
      if (!keepQueues.has(s.spec.id)) {
        s.queue?.close();
        this.queues.delete(s.spec.id);
      }
      this.sinks.delete(s.spec.id);
      this.published.delete(s.spec.id);
    }
  }

  /**
   * Apply a new config (SIGHUP): stop what was removed or changed, start what is new or changed,
   * keep the rest running. Queues persist across the swap. `data_dir` changes need a restart.
   */
  async reload(next: LoadedConfig): Promise<{ started: string[]; stopped: string[] }> {
    if (next.dataDir !== this.config.dataDir) this.logger.warn('data_dir changed; restart the agent to use the new directory');
    // These are read once at start (the API socket, the logger, the SQLite connection): say so
    // rather than let an operator believe a reload applied them.
    for (const key of ['api', 'log', 'queue'] as const) {
      if (JSON.stringify(next[key]) !== JSON.stringify(this.config[key])) this.logger.warn({ section: key }, `[${key}] changed; it takes effect when the agent restarts`);
    }
    const before = new Map(this.config.components.map((c) => [c.id, c]));
    const after = new Map(next.components.map((c) => [c.id, c]));
    const changed = (id: string) => {
      const a = before.get(id);
      const b = after.get(id);
      return !a || !b || a.kind !== b.kind || a.fingerprint !== b.fingerprint;
    };
    const stop = [...before.keys()].filter(changed);
    const start = [...after.keys()].filter(changed);
    const deadline = Date.now() + next.shutdown.timeout_secs * 1000;
    const restarted = new Set(start.filter((id) => after.get(id)?.kind === 'sink' && before.get(id)?.kind === 'sink'));
    await this.stopComponents(stop, deadline, AbortSignal.abort(), restarted);
    this.config = { ...next, dataDir: this.config.dataDir };
    await this.startComponents(start);
    this.logger.info({ stopped: stop, started: start }, 'configuration reloaded');
    return { started: start, stopped: stop };
  }
}
