import type { Logger } from 'pino';

/**
 * Process-wide last resorts for a long-running command. Installed before anything starts (before
 * the config is read, before the first database connection), because an error event nobody
 * listens to, raised by a client that a sink opened while starting, otherwise ends the process:
 * one component's failure would take every source down with it, and under systemd turn into a
 * crash loop. Such an error is logged and the agent keeps running; the component it came from
 * sees its own failure through its normal paths (a write that fails is retried with backoff and
 * shown in /health). See docs/operations.md#when-something-unexpected-happens.
 *
 * Node.js warns that state after an uncaught exception may be inconsistent. The agent's state
 * that matters is in SQLite, committed in transactions; what is in memory is at most a delivery
 * in flight, which is replayed from the queue with the same identity.
 */
export interface ProcessGuards {
  /** Route later reports to the configured logger (levels, secret masking). */
  useLogger(logger: Logger): void;
  /** How many errors were caught so far (for tests and the final log line). */
  readonly caught: number;
}

export function installProcessGuards(initial: Logger): ProcessGuards {
  let logger = initial;
  let caught = 0;
  const report = (kind: 'uncaught exception' | 'unhandled promise rejection', err: unknown) => {
    caught++;
    try {
      logger.error({ err, caught }, `${kind}; the agent keeps running (queued data is safe on disk): ${err instanceof Error ? err.message : String(err)}`);
    } catch {
      // Logging itself failed (a closed stdout): nothing else to do, and throwing here would exit.
    }
  };
  process.on('uncaughtException', (err) => report('uncaught exception', err));
  process.on('unhandledRejection', (reason) => report('unhandled promise rejection', reason));
  return {
    useLogger(next) {
      logger = next;
    },
    get caught() {
      return caught;
    },
  };
}
