import { isAscii, isUtf8 } from 'node:buffer';
import { latin1, utf8 } from './decode.js';
import type { TrackedFile } from './tracked-file.js';

/** Receives each complete line: the text, its file offset and length in bytes (without the newline). */
export interface LineHandler {
  line(f: TrackedFile, text: string, start: number, bytes: number, readUs: number): void;
  /**
   * Offered each line that fits `max_line_bytes` first, as the bytes `data[start, end)` (`ascii`:
   * all ASCII, otherwise valid UTF-8), before any string is made of it. True: handled; false: it
   * comes to `line` as usual.
   */
  lineBytes?(f: TrackedFile, data: Buffer, start: number, end: number, ascii: boolean, readUs: number): boolean;
}

/** Problems counted while splitting; added to the source's metrics per batch. */
export interface SplitCounts {
  longLines: number;
  invalidUtf8: number;
}

/** How a chunk's complete lines are decoded, decided once per chunk. */
const enum Decode {
  /** Pure ASCII: latin1 decoding gives the same string and is the cheapest. */
  Ascii,
  /** Valid UTF-8 throughout. */
  Utf8,
  /** Somewhere invalid: check each line to count the ones that get U+FFFD. */
  Check,
}

/**
 * Splits file bytes into lines: `\n` ends a line and a `\r` before it is dropped; a
 * line longer than `max_line_bytes` is truncated or skipped and counted; invalid UTF-8 becomes
 * U+FFFD (Buffer's decoder does that) and is counted, never fatal. The caller passes chunks that
 * start with the file's held-back partial line; what follows the last newline is held back again.
 *
 * This is the hot loop of the source: `indexOf` finds newlines, each line costs one string (or
 * none, when the handler takes its bytes).
 */
export class LineSplitter {
  readonly counts: SplitCounts = { longLines: 0, invalidUtf8: 0 };

  constructor(
    private readonly maxLine: number,
    private readonly onLong: 'truncate' | 'skip',
    private readonly handler: LineHandler,
  ) {}

  /**
   * Hand on the complete lines of `data` (file bytes starting at offset `base`) from `pos`,
   * stopping early once `stop()` says the batch is full. Returns where it stopped; after the
   * last complete line call `keepRest`.
   */
  lines(f: TrackedFile, data: Buffer, base: number, pos: number, readUs: number, full: () => boolean): number {
    if (f.discarding) {
      pos = this.endOfLongLine(f, data, base, readUs);
      if (pos < 0) return data.length;
    }
    const lastNl = data.lastIndexOf(10);
    if (lastNl < pos) return pos;
    const mode = isAscii(data.subarray(pos, lastNl + 1)) ? Decode.Ascii : isUtf8(data.subarray(pos, lastNl + 1)) ? Decode.Utf8 : Decode.Check;
    const max = this.maxLine;
    const handler = this.handler;
    // Lines with invalid UTF-8 are decoded (and counted) by `decode`.
    const lineBytes = mode === Decode.Check ? undefined : handler.lineBytes?.bind(handler);
    const ascii = mode === Decode.Ascii;
    while (pos <= lastNl) {
      const nl = data.indexOf(10, pos);
      let end = nl;
      if (end > pos && data[end - 1] === 13) end--;
      if (end - pos > max) {
        const text = this.longLine(data, pos, end, mode);
        if (text !== undefined) handler.line(f, text, base + pos, end - pos, readUs);
      } else if (lineBytes === undefined || !lineBytes(f, data, pos, end, ascii, readUs)) {
        handler.line(f, this.decode(data, pos, end, mode), base + pos, end - pos, readUs);
      }
      pos = nl + 1;
      f.lineStart = base + pos;
      if (full()) break;
    }
    return pos;
  }

  /** Hold back what follows the last complete line: as the tail, or as an over-long line's start. */
  keepRest(f: TrackedFile, data: Buffer, pos: number): void {
    const rest = data.length - pos;
    if (f.discarding || rest === 0) {
      f.tail = undefined;
      return;
    }
    if (rest > this.maxLine) {
      // The line is already too long and its end is not in sight: keep at most what is emitted.
      f.discarding = true;
      f.longPrefix = this.onLong === 'truncate' ? Buffer.from(data.subarray(pos, pos + utf8Cut(data.subarray(pos), this.maxLine))) : undefined;
      f.tail = undefined;
      return;
    }
    f.tail = Buffer.from(data.subarray(pos));
  }

  /**
   * Emit the held-back partial line as it is: its newline is not coming (partial-line timeout,
   * a rotated file being closed, a truncation). Afterwards nothing of `f` is held back.
   */
  flushPartial(f: TrackedFile, readUs: number): void {
    if (f.discarding) {
      this.counts.longLines++;
      if (f.longPrefix) this.handler.line(f, this.decode(f.longPrefix, 0, f.longPrefix.length, Decode.Check), f.lineStart, f.longPrefix.length, readUs);
      f.discarding = false;
      f.longPrefix = undefined;
    } else if (f.tail) {
      const t = f.tail;
      const end = t.length > 0 && t[t.length - 1] === 13 ? t.length - 1 : t.length;
      this.handler.line(f, this.decode(t, 0, end, Decode.Check), f.lineStart, end, readUs);
      f.tail = undefined;
    }
    f.lineStart = f.readPos;
  }

  /** In an over-long line: drop bytes up to its newline, then emit its kept prefix. -1: no newline yet. */
  private endOfLongLine(f: TrackedFile, data: Buffer, base: number, readUs: number): number {
    const nl = data.indexOf(10);
    if (nl < 0) return -1;
    this.counts.longLines++;
    if (f.longPrefix) {
      const p = f.longPrefix;
      this.handler.line(f, this.decode(p, 0, p.length, Decode.Check), f.lineStart, p.length, readUs);
    }
    f.discarding = false;
    f.longPrefix = undefined;
    f.lineStart = base + nl + 1;
    return nl + 1;
  }

  private longLine(data: Buffer, start: number, end: number, mode: Decode): string | undefined {
    this.counts.longLines++;
    if (this.onLong === 'skip') return undefined;
    return this.decode(data, start, start + utf8Cut(data.subarray(start, end), this.maxLine), mode);
  }

  private decode(data: Buffer, start: number, end: number, mode: Decode): string {
    if (mode === Decode.Ascii) return latin1(data, start, end);
    if (mode === Decode.Check && !isUtf8(data.subarray(start, end))) this.counts.invalidUtf8++;
    return utf8(data, start, end);
  }
}

/** `cut` (< bytes.length), moved back to the start of the UTF-8 character it falls inside, so truncation does not split one. */
function utf8Cut(bytes: Buffer, cut: number): number {
  let c = cut;
  while (c > 0 && c > cut - 4 && ((bytes[c] as number) & 0xc0) === 0x80) c--;
  return c;
}
