/**
 * Levels in one vocabulary, so that `route` matchers like `level = ["error", "fatal"]` work on
 * logs from any library: lower case, common aliases folded, and the numeric levels of pino and
 * bunyan (10–60) and syslog severities (0–7) named.
 */

// A Map, not an object literal: a level named `constructor` or `toString` must not find
// Object.prototype's members.
const ALIASES = new Map<string, string>(
  Object.entries({
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
  }),
);

const PINO = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const SYSLOG = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'];

/**
 * Level strings seen so far and what they became. A log uses a handful of spellings, and `trim` and
 * `toLowerCase` copy the string on every line even when nothing changes; bounded, so that a field
 * holding arbitrary text cannot grow it.
 */
const seen = new Map<string, string>();
const SEEN_MAX = 256;
const SEEN_LENGTH_MAX = 32;

export function normalizeLevel(value: unknown): string {
  if (typeof value === 'string') {
    const known = seen.get(value);
    if (known !== undefined) return known;
    const lower = value.trim().toLowerCase();
    const level = ALIASES.get(lower) ?? lower;
    if (seen.size < SEEN_MAX && value.length <= SEEN_LENGTH_MAX) seen.set(value, level);
    return level;
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= 7) return SYSLOG[value] as string;
    if (value >= 10) return PINO[Math.min(5, Math.floor(value / 10) - 1)] as string;
    return String(value);
  }
  return value === undefined || value === null ? '' : String(value);
}
