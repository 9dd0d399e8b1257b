/**
 * The logging surface the storage layer needs. Structural on purpose: a pino `Logger` satisfies it,
 * and the storage code does not depend on how src/core builds its logger.
 */
export type LogMethod = (fields: Record<string, unknown>, message: string) => void;

export interface StorageLogger {
  readonly debug: LogMethod;
  readonly info: LogMethod;
  readonly warn: LogMethod;
  readonly error: LogMethod;
}

const ignore: LogMethod = () => undefined;

export const silentLogger: StorageLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
