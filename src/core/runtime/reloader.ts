import type { Logger } from 'pino';
import type { ComponentSpec, LoadedConfig } from '../config/load.js';
import { CORE_ERRORS, ThermoclineError } from '../errors.js';

/** What a reload changes: components to stop and to start (a changed one is both). */
export interface ReloadPlan {
  stop: string[];
  start: string[];
  /** Sinks stopped and started again: their queues stay open across the swap. */
  restartedSinks: Set<string>;
}

export interface ReloadResult {
  started: string[];
  stopped: string[];
}

/** Components whose table changed (or that appeared or disappeared) between two configs. */
export function planReload(before: readonly ComponentSpec[], after: readonly ComponentSpec[]): ReloadPlan {
  const a = new Map(before.map((c) => [c.id, c]));
  const b = new Map(after.map((c) => [c.id, c]));
  const changed = (id: string) => {
    const x = a.get(id);
    const y = b.get(id);
    return !x || !y || x.kind !== y.kind || x.fingerprint !== y.fingerprint;
  };
  const start = [...b.keys()].filter(changed);
  return {
    stop: [...a.keys()].filter(changed),
    start,
    restartedSinks: new Set(start.filter((id) => a.get(id)?.kind === 'sink' && b.get(id)?.kind === 'sink')),
  };
}

/**
 * Applies new configs (SIGHUP) one at a time: a reload that arrives while another runs waits for
 * it, so two SIGHUPs never swap components at once. Once the agent stops, reloads are refused
 * (`TC_RELOAD_REFUSED`), and `close()` waits for one in progress so the stop finds a settled
 * pipeline.
 */
export class Reloader {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private inFlight = 0;

  constructor(
    private readonly logger: Logger,
    private readonly current: () => LoadedConfig,
    private readonly apply: (next: LoadedConfig, plan: ReloadPlan) => Promise<void>,
  ) {}

  reload(next: LoadedConfig): Promise<ReloadResult> {
    // When idle, the reload begins now (synchronously up to its first await), so a stop asked
    // for right after it finds it in progress and waits for it rather than refusing it.
    const run = this.inFlight === 0 ? this.run(next) : this.queue.then(() => this.run(next));
    this.inFlight++;
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queue = settled.then(() => {
      this.inFlight--;
    });
    return run;
  }

  /** Refuse further reloads and wait for the one in progress. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  private async run(next: LoadedConfig): Promise<ReloadResult> {
    if (this.closed) {
      const err = new ThermoclineError(CORE_ERRORS.TC_RELOAD_REFUSED, 'the agent is stopping; the new configuration was not applied');
      this.logger.error({ err: { message: err.message, code: err.code } }, err.message);
      throw err;
    }
    const config = this.current();
    if (next.dataDir !== config.dataDir) this.logger.warn('data_dir changed; restart the agent to use the new directory');
    // These are read once at start (the API socket, the logger, the SQLite connection): say so
    // rather than let an operator believe a reload applied them.
    for (const key of ['api', 'log', 'queue'] as const) {
      if (JSON.stringify(next[key]) !== JSON.stringify(config[key])) this.logger.warn({ section: key }, `[${key}] changed; it takes effect when the agent restarts`);
    }
    const plan = planReload(config.components, next.components);
    await this.apply({ ...next, dataDir: config.dataDir }, plan);
    this.logger.info({ stopped: plan.stop, started: plan.start }, 'configuration reloaded');
    return { started: plan.start, stopped: plan.stop };
  }
}
