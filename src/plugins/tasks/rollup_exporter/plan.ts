/**
 * Pure planning: which buckets a cycle covers and how they are cut into bounded chunks. Times are
 * epoch milliseconds, aligned to minutes (the buckets of `metrics_1m`).
 */
import { MINUTE_MS, ceilMinute, floorMinute } from './pg-source.js';

/** A window is never longer than a day: it is the unit of one refresh and one count query. */
export const MAX_SPAN_MINUTES = 1440;
/** The first window of a pass before anything is known about the density of the data. */
export const INITIAL_SPAN_MINUTES = 60;

export interface Chunk {
  readonly from: number;
  readonly to: number;
  /** Rows counted before the export (the export itself may see a few more or fewer). */
  readonly rows: number;
}

/**
 * Cuts the window [from, to) into consecutive chunks of at most `maxRows` rows, at bucket
 * boundaries. A bucket is never split, so a single bucket above `maxRows` makes a chunk of its own.
 * The chunks cover the whole window (the last one ends at `to`), so the watermark can advance
 * over empty minutes too.
 */
export function cutChunks(counts: ReadonlyArray<{ bucket: number; rows: number }>, from: number, to: number, maxRows: number): Chunk[] {
  const chunks: Chunk[] = [];
  let start = from;
  let rows = 0;
  for (const { bucket, rows: n } of counts) {
    if (rows > 0 && rows + n > maxRows) {
      chunks.push({ from: start, to: bucket, rows });
      start = bucket;
      rows = 0;
    }
    rows += n;
  }
  chunks.push({ from: start, to, rows });
  return chunks;
}

/**
 * The next window length, from the rows the last one held: about `maxRows` rows, growing at most
 * fourfold at a time (so that a sparse stretch does not make the next, denser one a giant refresh),
 * between one minute and a day.
 */
export function nextSpanMinutes(previous: number, rows: number, minutes: number, maxRows: number): number {
  const cap = Math.min(MAX_SPAN_MINUTES, previous * 4);
  if (rows <= 0 || minutes <= 0) return Math.max(1, cap);
  const fit = Math.floor((maxRows * minutes) / rows);
  return Math.max(1, Math.min(cap, fit));
}

/** Where a cycle starts: `lateness` (at least `reach`) behind the watermark, whole minutes. */
export function cycleStart(watermark: number, latenessMs: number, reachMinutes: number): number {
  const back = Math.max(ceilMinute(latenessMs), reachMinutes * MINUTE_MS);
  return floorMinute(watermark - back);
}

/** Percent done and the time left, from the share of the range behind us. */
export function progress(from: number, to: number, at: number, elapsedMs: number): { percent: number; etaSecs: number | undefined } {
  const done = Math.min(1, Math.max(0, (at - from) / Math.max(1, to - from)));
  return { percent: Math.round(done * 1000) / 10, etaSecs: done > 0 ? Math.round((elapsedMs * (1 - done)) / done / 100) / 10 : undefined };
}
