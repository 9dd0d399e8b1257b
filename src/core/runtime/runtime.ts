import type { Logger } from 'pino';
import type { SinkQueue } from '../buffer/queue.js';
import { QueueStore } from '../buffer/store.js';
import { QueueMaintenance } from '../buffer/maintenance.js';
import { DataDirLock } from '../buffer/lock.js';
import type { ComponentSpec, LoadedConfig } from '../config/load.js';
import { CORE_ERRORS, errorMessage } from '../errors.js';
import type { ComponentKind, TransformInstance } from '../plugin/types.js';
import { ResourceRegistry } from '../plugin/resource.js';
import { MetricsRegistry } from '../telemetry/metrics.js';
import { type BuildEnv, buildSink, buildSource, buildTask, buildTransform, type Running } from './components.js';
import { componentContext } from './context.js';
import { Emitter } from './emitter.js';
import { createLogger, RateLimitedLog } from './logger.js';
import { setHeapGrowth } from './heap-growth.js';
import { MemoryGuard } from './memory-guard.js';
import { Reloader, type ReloadPlan, type ReloadResult } from './reloader.js';
import { Router, type TapListener } from './router.js';
import type { ComponentStatus } from './status.js';
import { Supervisor } from './supervisor.js';
import { withDeadline } from './timing.js';

export interface RuntimeOptions {
  logger?: Logger;
  metrics?: MetricsRegistry;
}

/**
 * Runs the pipeline of a validated config (docs/ARCHITECTURE.md#the-runtime): owns the data
 * directory's lock and queue database, starts sinks first, then transforms, then sources, each
 * under a `Supervisor`, and stops them in the reverse order within the shutdown timeout. A
 * `Reloader` applies new configs one at a time, swapping only what changed; queues persist.
 */
export class Runtime {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly store: QueueStore;
  private config: LoadedConfig;
  private readonly running = new Map<string, Running>();
  private readonly queues = new Map<string, SinkQueue>();
  private readonly published = new Map<string, unknown>();
  private readonly resources = new ResourceRegistry();
  private readonly router: Router;
  private readonly lock: DataDirLock;
  private readonly emitter: Emitter;
  private readonly errorLog: RateLimitedLog;
  private readonly reloader: Reloader;
  private readonly maintenance: QueueMaintenance;
  private readonly memory: MemoryGuard;
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
      (id, err) => this.onTransformError(id, err),
      (id) => this.running.get(id)?.supervisor.status.ok(),
    );
    setHeapGrowth(config.memory.heap_growth_percent);
    this.memory = new MemoryGuard({
      limit: config.memory.limit,
      onChange: (over, used, limit) => {
        const mib = (n: number) => `${Math.round(n / 1048576)} MiB`;
        if (over) {
          this.logger.warn(
            { code: CORE_ERRORS.TC_MEMORY_LIMIT, used_bytes: used, limit_bytes: limit },
            `the agent holds ${mib(used)}, over [memory] limit = ${mib(limit)}: sources are held back until it falls below ${mib(limit * 0.9)} (TC_MEMORY_LIMIT)`,
          );
        } else this.logger.info({ used_bytes: used, limit_bytes: limit }, `memory back under the limit (${mib(used)} of ${mib(limit)}): sources resume`);
      },
    });
    this.metrics.setMemorySource({ usedBytes: () => this.memory.usedBytes, limitBytes: () => this.memory.limitBytes, limited: () => this.memory.isOver() });
    this.emitter = new Emitter(
      this.store,
      this.router,
      config.topology,
      this.queues,
      (sink) => {
        const spec = this.running.get(sink)?.supervisor.spec;
        return spec && this.metricsOf(spec);
      },
      this.memory,
    );
    this.metrics.setQueueSource({
      queueStats: () =>
        [...this.queues.values()].map((q) => {
          const oldest = q.events > 0 ? q.head(1)[0] : undefined;
          const oldestAgeSecs = oldest ? Math.max(0, Date.now() - oldest.createdUs / 1000) / 1000 : 0;
          return { sink: q.sink, events: q.events, bytes: q.bytes, batches: q.batches, maxBytes: q.options.max_bytes, oldestAgeSecs };
        }),
    });
    this.reloader = new Reloader(this.logger, () => this.config, (next, plan) => this.swap(next, plan));
    const note = this.store.openNote;
    if (note?.converted) this.logger.info({ seconds: note.seconds }, 'queue database rewritten once (VACUUM) so that it can give space back after a backlog drains');
    if (note && !note.converted) {
      this.logger.warn({ err: note.error }, `queue database could not be converted to incremental vacuum (VACUUM needs free space about its size): it keeps working but does not shrink; retried at the next start: ${note.error}`);
    }
    this.metrics.setStoreSource({ fileBytes: () => this.store.fileBytes(), deadLetterBytes: () => this.store.deadLetterBytes(), deadLetterCount: () => this.store.deadLetterCount() });
    this.maintenance = new QueueMaintenance(this.store, {
      deadLetterMaxAgeMs: config.queue.dead_letter.max_age_secs * 1000,
      deadLetterMaxBytes: config.queue.dead_letter.max_bytes,
      onPruned: (reason, n) => {
        this.metrics.deadLettersPrunedTotal(reason, n);
        this.logger.info({ reason, entries: n }, `pruned ${n} dead letter(s) past [queue.dead_letter] ${reason}`);
      },
      onReclaimed: (bytes) => this.metrics.queueReclaimedBytes(bytes),
      onError: (step, err) => this.errorLog.warn(`queue-maintenance:${step}`, { err, step }, `queue database maintenance (${step}) failed; retried later: ${errorMessage(err)}`),
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
    rt.maintenance.start();
    rt.memory.start();
    const count = (kind: ComponentKind) => rt.ofKind(kind).length;
    rt.logger.info({ sources: count('source'), transforms: count('transform'), sinks: count('sink'), tasks: count('task'), data_dir: config.dataDir }, 'pipeline started');
    return rt;
  }

  get currentConfig(): LoadedConfig {
    return this.config;
  }

  private ofKind(kind: ComponentKind): Running[] {
    return [...this.running.values()].filter((r) => r.supervisor.spec.kind === kind);
  }

  private metricsOf(spec: ComponentSpec) {
    return this.metrics.forComponent(spec.id, spec.kind, spec.type);
  }

  /** Start the given components in topological order (sinks, transforms, sources). */
  private async startComponents(ids: readonly string[]): Promise<void> {
    const wanted = new Set(ids);
    const specs = this.config.topology.startOrder().filter((n) => wanted.has(n.id)).map((n) => this.config.components.find((c) => c.id === n.id) as ComponentSpec);
    for (const spec of specs) if (spec.kind === 'sink') await this.startOne(spec, buildSink);
    for (const spec of specs) if (spec.kind === 'task') await this.startOne(spec, buildTask);
    for (const spec of specs) if (spec.kind === 'transform') await this.startOne(spec, buildTransform);
    this.router.update(this.config.topology, new Map(this.ofKind('transform').map((r) => [r.supervisor.id, r.transform as TransformInstance])));
    this.emitter.update(this.config.topology);
    for (const spec of specs) if (spec.kind === 'source') await this.startOne(spec, buildSource);
  }

  /** Build `spec`'s component, hold it, and make its first start attempt. */
  private async startOne(spec: ComponentSpec, build: (spec: ComponentSpec, env: BuildEnv) => Running): Promise<void> {
    const supervisor = new Supervisor(spec, this.logger);
    const ctx = componentContext(spec, supervisor, { metrics: this.metricsOf(spec), dataDir: this.config.dataDir, store: this.store, published: this.published, resources: this.resources });
    const existingQueue = this.queues.get(spec.id);
    const running = build(spec, { supervisor, ctx, store: this.store, registry: this.metrics, emitter: this.emitter, ...(existingQueue ? { existingQueue } : {}) });
    if (running.pipeline) this.queues.set(spec.id, running.pipeline.queue);
    this.running.set(spec.id, running);
    await running.start();
  }

  /** The input itself goes to the dead-letter table with the source's batch (Emitter.commit). */
  private onTransformError(id: string, err: unknown): void {
    const t = this.running.get(id)?.supervisor;
    if (t) {
      this.metricsOf(t.spec).error('transform');
      t.status.degrade(err);
    }
    this.errorLog.error(`transform:${id}`, { component_id: id, err }, `transform "${id}" threw; its input batch goes to the dead-letter table: ${errorMessage(err)}`);
  }

  /** Observe events leaving a component (sources and transforms), for `thermocline tap`. */
  tap(componentId: string, listener: TapListener): () => void {
    return this.router.tap(componentId, listener);
  }

  statuses(): ComponentStatus[] {
    return (['sink', 'task', 'transform', 'source'] as const).flatMap((kind) => this.ofKind(kind).map((r) => r.supervisor.status));
  }

  queueOf(sink: string): SinkQueue | undefined {
    return this.queues.get(sink);
  }

  /**
   * Apply a new config (SIGHUP): stop what was removed or changed, start what is new or changed,
   * keep the rest running. One reload at a time; rejected with `TC_RELOAD_REFUSED` once the
   * agent is stopping. Queues persist across the swap. `data_dir` changes need a restart.
   */
  reload(next: LoadedConfig): Promise<ReloadResult> {
    return this.reloader.reload(next);
  }

  private async swap(next: LoadedConfig, plan: ReloadPlan): Promise<void> {
    const deadline = Date.now() + next.shutdown.timeout_secs * 1000;
    await this.stopComponents(plan.stop, deadline, AbortSignal.abort(), plan.restartedSinks);
    this.config = next;
    this.memory.setLimit(next.memory.limit);
    setHeapGrowth(next.memory.heap_growth_percent);
    await this.startComponents(plan.start);
  }

  /** Stop components in reverse start order; bounded by `shutdown.timeout_secs`. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const deadline = Date.now() + this.config.shutdown.timeout_secs * 1000;
    // A reload in progress finishes first, so that it starts nothing after the stop began.
    await withDeadline(() => this.reloader.close(), Math.max(0, deadline - Date.now()));
    const drain = new AbortController();
    const drainTimer = setTimeout(() => drain.abort(), Math.max(0, deadline - Date.now() - 1000));
    try {
      await this.stopComponents([...this.running.keys()], deadline, drain.signal);
    } finally {
      clearTimeout(drainTimer);
      this.maintenance.stop();
      this.memory.stop();
      this.store.close();
      this.lock.release();
    }
    this.logger.info('pipeline stopped');
  }

  private async stopComponents(ids: readonly string[], deadline: number, drain: AbortSignal, keepQueues: ReadonlySet<string> = new Set()): Promise<void> {
    const wanted = new Set(ids);
    const stopOne = async (r: Running) => {
      await r.supervisor.stop(() => r.stop(drain), Math.max(0, deadline - Date.now()));
      const id = r.supervisor.id;
      this.running.delete(id);
      if (r.supervisor.spec.kind !== 'sink') return;
      this.published.delete(id);
      this.resources.withdraw(id);
      if (!keepQueues.has(id)) {
        r.pipeline?.queue.close();
        this.queues.delete(id);
      }
    };
    const pick = (kind: ComponentKind) => this.ofKind(kind).filter((r) => wanted.has(r.supervisor.id));
    await Promise.all(pick('source').map(stopOne));
    await Promise.all(pick('transform').map(stopOne));
    await Promise.all(pick('task').map(stopOne));
    const order = this.config.topology.startOrder().map((n) => n.id).reverse();
    const sinks = pick('sink').sort((a, b) => order.indexOf(a.supervisor.id) - order.indexOf(b.supervisor.id));
    for (const s of sinks) await stopOne(s);
  }
}
