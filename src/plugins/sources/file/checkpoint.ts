import type { Json } from '../../../index.js';
import type { Fingerprint } from './identity.js';

/**
 * The source's checkpoint: one JSON value committed in the same queue transaction as the lines
 * it covers (docs/delivery.md#how), holding every tracked file, keyed by identity (`dev:ino`):
 *
 *   { "v": 1, "t": 1735689600000, "files": { "64768:1835011": { "p": "/var/log/app.log", "o": 48211, "fl": 1024, "fh": "…" } } }
 *
 * `o` is the offset just past the last line emitted (or the start of a multiline event still
 * being assembled), so a restart neither repeats nor skips a line. `r: 1` marks a file that was
 * rotated away or deleted and is being finished. `t` is when it was written (ms): after a restart,
 * files written since then are ones the agent did not see. `w` is when the source's latest look at
 * the included paths began (ms): a file created and written since then cannot have been seen
 * either, even before `t` (resume.ts). Short keys: it is written with every batch.
 */

export interface CheckpointEntry {
  path: string;
  offset: number;
  fp: Fingerprint;
  /** Rotated away or deleted: finish it to EOF, then forget it. */
  rotated: boolean;
}

const VERSION = 1;

export function encodeCheckpoint(entries: Iterable<[string, CheckpointEntry]>, nowMs = Date.now(), walkedAtMs?: number): Json {
  const files: Record<string, Json> = {};
  for (const [key, e] of entries) {
    const o: Record<string, Json> = { p: e.path, o: e.offset, fl: e.fp.len, fh: e.fp.hash };
    if (e.rotated) o.r = 1;
    files[key] = o;
  }
  return walkedAtMs === undefined ? { v: VERSION, t: nowMs, files } : { v: VERSION, t: nowMs, w: walkedAtMs, files };
}

export type DecodedCheckpoint =
  | { kind: 'none' }
  | { kind: 'ok'; entries: Map<string, CheckpointEntry>; savedAtMs: number | undefined; walkedAtMs: number | undefined }
  | { kind: 'invalid'; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodeCheckpoint(value: Json | undefined): DecodedCheckpoint {
  if (value === undefined || value === null) return { kind: 'none' };
  if (!isObject(value) || value.v !== VERSION || !isObject(value.files)) {
    return { kind: 'invalid', reason: `expected {"v":${VERSION},"files":{…}}` };
  }
  const entries = new Map<string, CheckpointEntry>();
  for (const [key, raw] of Object.entries(value.files)) {
    if (!isObject(raw) || typeof raw.p !== 'string' || !isCount(raw.o) || !isCount(raw.fl) || typeof raw.fh !== 'string') {
      return { kind: 'invalid', reason: `entry "${key}" is malformed` };
    }
    entries.set(key, { path: raw.p, offset: raw.o, fp: { len: raw.fl, hash: raw.fh }, rotated: raw.r === 1 });
  }
  return { kind: 'ok', entries, savedAtMs: isCount(value.t) ? value.t : undefined, walkedAtMs: isCount(value.w) ? value.w : undefined };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
