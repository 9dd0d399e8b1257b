/**
 * Levels in one vocabulary, so that `route` matchers like `level = ["error", "fatal"]` work on
 * logs from any library: lower case, common aliases folded, and the numeric levels of pino and
 * bunyan (10–60) and syslog severities (0–7) named.
 */

const ALIASES: Record<string, string> = {
  warning: 'warn',
  err: 'error',
  eror: 'error',
  crit: 'fatal',
  critical: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  alert: 'fatal',
  panic: 'fatal',
  information: 'info',
  informational: 'info',
  notice: 'info',
  dbg: 'debug',
  trc: 'trace',
};

const PINO = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const SYSLOG = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'];

export function normalizeLevel(value: unknown): string {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= 7) return SYSLOG[value] as string;
    if (value >= 10) return PINO[Math.min(5, Math.floor(value / 10) - 1)] as string;
    return String(value);
  }
  if (typeof value !== 'string') return value === undefined || value === null ? '' : String(value);
  const lower = value.trim().toLowerCase();
  return ALIASES[lower] ?? lower;
}
