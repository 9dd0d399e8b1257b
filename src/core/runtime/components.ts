import { encodeBatch } from '../codec/batch.js';
import type { SinkQueue } from '../buffer/queue.js';
import type { QueueStore } from '../buffer/store.js';
import type { ComponentSpec } from '../config/load.js';
import { errorMessage } from '../errors.js';
import type { TelemetryEvent } from '../events.js';
import type { ComponentContext, SourceContext, TransformInstance } from '../plugin/types.js';
import type { MetricsRegistry } from '../telemetry/metrics.js';
import { createInstance } from './context.js';
import type { Emitter } from './emitter.js';
import { RateLimitedLog } from './logger.js';
import { SinkPipeline } from './sink-pipeline.js';
import type { Supervisor } from './supervisor.js';
import { sleep } from './timing.js';

/** A component built from its spec, as the runtime holds it. */
export interface Running {
  readonly supervisor: Supervisor;
  /** First start attempt (later ones run in the background, see Supervisor). */
  readonly start: () => Promise<void>;
  /** Stops the instance (a sink's delivery first; a memory queue drains until `drain` aborts). */
  readonly stop: (drain: AbortSignal) => Promise<void>;
  readonly pipeline?: SinkPipeline;
  readonly transform?: TransformInstance;
}

export interface BuildEnv {
  readonly supervisor: Supervisor;
  readonly ctx: ComponentContext;
  readonly store: QueueStore;
  readonly registry: MetricsRegistry;
  /** The sink's queue before a reload, if it had one. */
  readonly existingQueue?: SinkQueue;
  readonly emitter: Emitter;
}

/** Runs the health check, if any: a failure marks the component degraded (false), not failed. */
async function checkHealth(instance: { healthcheck?(): Promise<void> }, supervisor: Supervisor, consequence: string): Promise<boolean> {
  if (!instance.healthcheck) return true;
  try {
    await instance.healthcheck();
    return true;
  } catch (err) {
    supervisor.status.degrade(err);
    supervisor.logger.error({ err: { message: errorMessage(err), code: (err as { code?: string }).code } }, `health check failed; ${consequence}: ${errorMessage(err)}`);
    return false;
  }
}

/** A sink, its queue and runner; the runner starts once the sink has started. */
export function buildSink(spec: ComponentSpec, env: BuildEnv): Running {
  const { supervisor, ctx } = env;
  const plugin = spec.plugin;
  const settings = spec.sink;
  if (plugin.kind !== 'sink' || !settings) throw new Error(`internal: ${spec.id} is not a sink`);
  const instance = createInstance(spec, () => plugin.create(spec.options as never, ctx));
  const { status } = supervisor;
  const pipeline = new SinkPipeline({ spec: { ...spec, sink: settings }, plugin, instance, store: env.store, existing: env.existingQueue, logger: ctx.logger, metrics: ctx.metrics, registry: env.registry, status });
  return {
    supervisor,
    pipeline,
    start: () =>
      supervisor.start(async () => {
        await instance.start?.();
        const healthy = await checkHealth(settings.healthcheck.enabled ? instance : {}, supervisor, 'data stays queued until it can be delivered');
        pipeline.start();
        return healthy;
      }),
    stop: async (drain) => {
      await pipeline.stop(drain);
      await instance.stop?.();
    },
  };
}

/** A transform, counted: what flows through it is measured without asking every plugin to do it. */
export function buildTransform(spec: ComponentSpec, env: BuildEnv): Running {
  const { supervisor, ctx } = env;
  const plugin = spec.plugin;
  if (plugin.kind !== 'transform') throw new Error(`internal: ${spec.id} is not a transform`);
  const instance = createInstance(spec, () => plugin.create(spec.options as never, ctx));
  const metrics = ctx.metrics;
  const transform: TransformInstance = {
    process: (events) => {
      metrics.received(events.length);
      const out = instance.process(events);
      metrics.sent(Array.isArray(out) ? out.length : Object.values(out).reduce((n, e) => n + e.length, 0));
      return out;
    },
  };
  return {
    supervisor,
    transform,
    start: async () => supervisor.status.ok(),
    stop: async () => instance.stop?.(),
  };
}

/** A source, whose context emits through the router into the sinks' queues. */
export function buildSource(spec: ComponentSpec, env: BuildEnv): Running {
  const { supervisor, ctx: base, store, emitter } = env;
  const plugin = spec.plugin;
  if (plugin.kind !== 'source') throw new Error(`internal: ${spec.id} is not a source`);
  const ctx: SourceContext = {
    ...base,
    emit: (events: TelemetryEvent[], checkpoint, options) => emitter.emit(spec.id, events, checkpoint, options, supervisor.signal, base.metrics),
    emitEncoded: (batches, checkpoint, options) => emitter.emitEncoded(spec.id, batches, checkpoint, options, supervisor.signal, base.metrics),
    isBlocked: () => emitter.isBlocked(spec.id),
    deadLetter: (events, rows, error) => {
      store.addDeadLetter({ sink: spec.id, seq: 0, error, events: events.length, data: Buffer.from(encodeBatch(events)), rows });
      base.metrics.dropped(events.length, 'dead_letter');
    },
    get checkpoint() {
      return store.getCheckpoint(spec.id);
    },
  };
  const instance = createInstance(spec, () => plugin.create(spec.options as never, ctx));
  return {
    supervisor,
    start: () =>
      supervisor.start(async () => {
        await instance.start();
        return true;
      }),
    stop: () => instance.stop(),
  };
}

/**
 * A task: started after the sinks it may use. With a schedule, its runs are driven from here one
 * at a time; a failed run is logged (rate-limited), counted as `error_type="run"` and marks the
 * task degraded until a run succeeds.
 */
export function buildTask(spec: ComponentSpec, env: BuildEnv): Running {
  const { supervisor, ctx } = env;
  const plugin = spec.plugin;
  if (plugin.kind !== 'task' || !spec.task) throw new Error(`internal: ${spec.id} is not a task`);
  const instance = createInstance(spec, () => plugin.create(spec.options as never, ctx));
  const schedule = plugin.schedule?.(spec.options as never);
  const healthcheck = spec.task.healthcheck.enabled;
  const log = new RateLimitedLog(supervisor.logger);
  let loop: Promise<void> | undefined;
  const runLoop = async (every: number, first: number) => {
    const signal = supervisor.signal;
    for (let wait = first; await sleep(wait, signal); wait = every) {
      try {
        await instance.run?.(signal);
        supervisor.status.ok();
      } catch (err) {
        if (signal.aborted) return;
        ctx.metrics.error('run');
        supervisor.status.degrade(err);
        log.error('run', { err: { message: errorMessage(err), code: (err as { code?: string }).code } }, `task run failed, next run in ${every / 1000} s: ${errorMessage(err)}`);
      }
    }
  };
  return {
    supervisor,
    start: () =>
      supervisor.start(async () => {
        await instance.start?.();
        const healthy = await checkHealth(healthcheck ? instance : {}, supervisor, 'the task keeps running');
        if (schedule && instance.run) loop ??= runLoop(schedule.every_ms, schedule.first_after_ms ?? schedule.every_ms);
        return healthy;
      }),
    stop: async () => {
      await loop;
      await instance.stop?.();
    },
  };
}
