import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/**
 * pino JSON logs to stdout (journald and Kubernetes collect them). Secret values interpolated
 * from the environment are replaced before a line leaves the process, whatever logged them.
 */
export function createLogger(options: { level?: string; secrets?: readonly string[]; destination?: NodeJS.WritableStream } = {}): Logger {
  const dest = options.destination ?? process.stdout;
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const stream =
    secrets.length === 0
      ? dest
      : new Writable({
          write(chunk: Buffer, _enc, cb) {
            let line = chunk.toString('utf8');
            for (const s of secrets) line = line.split(s).join('***').split(JSON.stringify(s).slice(1, -1)).join('***');
            dest.write(line, cb);
          },
        });
  return pino({ level: options.level ?? 'info', base: { service: 'thermocline' }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}

/** Logs at most `perWindow` lines per key per window, then a summary of how many were held back. */
export class RateLimitedLog {
  private readonly windows = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly perWindow = 5,
    private readonly windowMs = 60_000,
  ) {}

  error(key: string, obj: Record<string, unknown>, msg: string): void {
    this.emit('error', key, obj, msg);
  }

  warn(key: string, obj: Record<string, unknown>, msg: string): void {
    this.emit('warn', key, obj, msg);
  }

  private emit(level: 'error' | 'warn', key: string, obj: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      if (w && w.suppressed > 0) this.logger[level]({ key, suppressed: w.suppressed }, `${w.suppressed} similar messages were suppressed`);
      w = { start: now, count: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.count < this.perWindow) {
      w.count++;
      this.logger[level](obj, msg);
    } else {
      w.suppressed++;
    }
  }
}
