import { z } from 'zod';

/**
 * Value types with units. Durations accept Prometheus-style strings ("500ms", "15s", "5m", "2h",
 * "1d", or combinations like "1h30m") or a number of seconds; they parse to milliseconds. Sizes
 * accept an integer of bytes or a string with a unit ("64KiB", "256MiB", "1GB").
 */

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(DURATION_PART)) {
    if (m.index !== consumed) return undefined;
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2] as string] as number);
    consumed += m[0].length;
  }
  return consumed === s.length ? total : undefined;
}

/** A duration option; the parsed value is in milliseconds. */
export const duration = () =>
  z.union([z.string(), z.number().nonnegative()]).transform((v, ctx) => {
    if (typeof v === 'number') return Math.round(v * 1000);
    const ms = parseDurationMs(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration: write e.g. "500ms", "15s", "5m", "2h" or a number of seconds` });
      return z.NEVER;
    }
    return ms;
  });

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?$/i;
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
  tb: 1e12,
  tib: 1024 ** 4,
};

export function parseByteSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * (SIZE_UNITS[(m[2] ?? 'b').toLowerCase()] as number));
}

/** A size option; the parsed value is in bytes. */
export const byteSize = () =>
  z.union([z.string(), z.number().int().nonnegative()]).transform((v, ctx) => {
    if (typeof v === 'number') return v;
    const n = parseByteSize(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a size: write a number of bytes or e.g. "64KiB", "256MiB", "1GB"` });
      return z.NEVER;
    }
    return n;
  });

/** `host:port` for listeners. */
export const listenAddress = () =>
  z.string().refine((v) => /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(v) && Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, {
    message: 'must be "host:port", e.g. "127.0.0.1:4318" (use "0.0.0.0:4318" to listen on every interface)',
  });

export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  let host = address.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(address.slice(i + 1)) };
}
