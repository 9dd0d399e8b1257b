import type { Logger } from 'pino';
import type { ComponentSpec } from '../config/load.js';
import { errorMessage } from '../errors.js';
import { ComponentStatus } from './status.js';
import { backoffMs, sleep, withDeadline } from './timing.js';

/**
 * Watches over one component's life (docs/ARCHITECTURE.md#components-and-lifecycle): starts it,
 * retrying in the background with backoff when the start fails (a database that is down at start
 * only grows the queue), holds its health, and stops it within a deadline.
 */
export class Supervisor {
  readonly status: ComponentStatus;
  private readonly controller = new AbortController();
  /** The background retry loop, while the first attempt has failed. */
  private retrying: Promise<void> | undefined;

  /** The component's own logger (its context's). */
  readonly logger: Logger;

  constructor(
    readonly spec: ComponentSpec,
    parent: Logger,
  ) {
    this.status = new ComponentStatus(spec.id, spec.kind, spec.type);
    this.logger = parent.child({ component_id: spec.id, component_kind: spec.kind, component_type: spec.type });
  }

  get id(): string {
    return this.spec.id;
  }

  /** Aborted when the component is being stopped: the context's `signal`. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Try `attempt` once now; if it throws, mark the component failed and keep trying in the
   * background. `attempt` resolves false when the component runs but is not healthy (it has
   * marked itself degraded).
   */
  async start(attempt: () => Promise<boolean>): Promise<void> {
    const signal = this.controller.signal;
    const once = async (): Promise<boolean> => {
      try {
        if (await attempt()) this.status.ok();
        return true;
      } catch (err) {
        this.status.fail(err);
        this.logger.error({ err: { message: errorMessage(err), code: (err as { code?: string }).code } }, `failed to start, will retry: ${errorMessage(err)}`);
        return false;
      }
    };
    if (await once()) return;
    this.retrying = (async () => {
      for (let n = 1; !signal.aborted; n++) {
        if (!(await sleep(backoffMs(n, 1, 60), signal))) return;
        if (await once()) return;
      }
    })();
  }

  /** Abort, then wait for a start in progress and for `stop`, at most `ms`. */
  async stop(stop: () => Promise<unknown>, ms: number): Promise<void> {
    this.controller.abort();
    const ok = await withDeadline(async () => {
      await this.retrying;
      await stop();
    }, ms);
    if (!ok) this.logger.warn({ component_id: this.spec.id }, 'component did not stop within the shutdown timeout');
    this.status.stop();
  }
}
