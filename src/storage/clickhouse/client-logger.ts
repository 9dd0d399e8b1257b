/**
 * Routes @clickhouse/client's own log lines (e.g. failed pings) into the agent's logger instead of
 * the console it writes to by default (pino JSON logs on stdout, docs/operations.md#logs).
 */
import type { ErrorLogParams, Logger, LogParams, WarnLogParams } from '@clickhouse/client';
import type { StorageLogger } from '../logger.js';

export function clickHouseLoggerClass(logger: StorageLogger): new () => Logger {
  const fields = (p: LogParams & { err?: Error }) => ({ component: '@clickhouse/client', module: p.module, ...p.args, ...(p.err ? { err: p.err.message } : {}) });
  return class implements Logger {
    trace(p: LogParams): void {
      logger.debug(fields(p), p.message);
    }
    debug(p: LogParams): void {
      logger.debug(fields(p), p.message);
    }
    info(p: LogParams): void {
      logger.info(fields(p), p.message);
    }
    warn(p: WarnLogParams): void {
      logger.warn(fields(p), p.message);
    }
    error(p: ErrorLogParams): void {
      logger.error(fields(p), p.message);
    }
  };
}
