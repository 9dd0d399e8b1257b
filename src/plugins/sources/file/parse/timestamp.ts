/**
 * Event times from log records: RFC 3339 strings and epoch numbers, to microseconds
 * since the epoch (docs/ARCHITECTURE.md#events). `Date.parse` would drop sub-millisecond digits, so the
 * RFC 3339 form is parsed here.
 */

export type TimestampFormat = 'auto' | 'rfc3339' | 'unix_s' | 'unix_ms' | 'unix_us' | 'unix_ns';

const NUMERIC = /^-?\d+(?:\.\d+)?$/;
const UNIT_US: Record<Exclude<TimestampFormat, 'auto' | 'rfc3339'>, number> = { unix_s: 1e6, unix_ms: 1e3, unix_us: 1, unix_ns: 1e-3 };

/** `n` decimal digits of `s` from `at` as a number, or -1. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** The last date-hour-minute converted, since consecutive log lines share it. */
let lastMinuteKey = -1;
let lastMinuteMs = 0;

/**
 * Microseconds for an RFC 3339 time (`2025-01-02T03:04:05.123456Z`, `+02:00`, `-0130`, a space
 * for the `T`); a time without a zone is taken as UTC. Parsed by hand: it runs once per JSON or
 * logfmt line, where a regular expression and `Date.UTC` per line cost more than the rest.
 */
export function parseRfc3339(s: string): number | undefined {
  const n = s.length;
  if (n < 19) return undefined;
  const t = s.charCodeAt(10);
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || (t !== 84 && t !== 116 && t !== 32))
    return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
    return undefined;
  let i = 19;
  let micros = 0;
  const sep = s.charCodeAt(i);
  if (sep === 46 || sep === 44) {
    // Fraction: up to 9 digits, the first 6 are microseconds.
    let count = 0;
    for (i++; i < n && count < 9; i++, count++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      if (count < 6) micros = micros * 10 + d;
    }
    if (count === 0) return undefined;
    for (let c = Math.min(count, 6); c < 6; c++) micros *= 10;
  }
  let offsetMin = 0;
  if (i < n) {
    const z = s.charCodeAt(i);
    if ((z === 90 || z === 122) && i + 1 === n) {
      // Z
    } else if (z === 43 || z === 45) {
      const oh = digits(s, i + 1, 2);
      const colon = s.charCodeAt(i + 3) === 58 ? 1 : 0;
      const om = digits(s, i + 3 + colon, 2);
      if (oh < 0 || om < 0 || i + 5 + colon !== n) return undefined;
      offsetMin = (z === 43 ? 1 : -1) * (oh * 60 + om);
    } else {
      return undefined;
    }
  }
  const minuteKey = (((year * 13 + month) * 32 + day) * 24 + hour) * 60 + minute;
  if (minuteKey !== lastMinuteKey) {
    lastMinuteMs = Date.UTC(year, month - 1, day, hour, minute);
    lastMinuteKey = minuteKey;
  }
  return (lastMinuteMs + second * 1000 - offsetMin * 60_000) * 1000 + micros;
}

/** Epoch number in an explicit unit, or guessed from its magnitude ("auto"). */
function fromEpoch(n: number, format: TimestampFormat): number | undefined {
  if (!Number.isFinite(n)) return undefined;
  if (format === 'auto') {
    const a = Math.abs(n);
    const unit = a < 1e11 ? 1e6 : a < 1e14 ? 1e3 : a < 1e17 ? 1 : 1e-3;
    return Math.round(n * unit);
  }
  if (format === 'rfc3339') return undefined;
  return Math.round(n * UNIT_US[format]);
}

/** Microseconds since the epoch, or undefined when `value` is not a time in `format`. */
export function parseTimestamp(value: unknown, format: TimestampFormat): number | undefined {
  if (typeof value === 'number') return fromEpoch(value, format);
  if (typeof value !== 'string') return undefined;
  if (format === 'rfc3339') return parseRfc3339(value);
  if (format === 'auto') {
    const t = parseRfc3339(value);
    if (t !== undefined) return t;
  }
  return NUMERIC.test(value) ? fromEpoch(Number(value), format) : undefined;
}
