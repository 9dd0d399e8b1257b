import type { Fingerprint } from './identity.js';
import type { Lines } from './lines.js';

/** A multiline event being assembled (stack traces become one event). */
export interface PendingGroup {
  parts: string[];
  /** Bytes of the lines so far. */
  bytes: number;
  /** File offset of its first line: the checkpoint does not move past it until it is emitted. */
  start: number;
  /** When its first line was read (µs): the event's time for plain lines. */
  readUs: number;
  /** When its last line was read (ms), for `multiline.timeout_secs`. */
  lastAt: number;
}

/**
 * One open file and how far it has been read. Offsets:
 *
 *   0 ........ lineStart ........ readPos ....... size
 *              │ tail (partial)   │
 *
 * `lineStart` is just past the last complete line handed on; `readPos` is how far bytes were
 * read into memory (the partial last line, `tail`, sits between them). The checkpoint records
 * `lineStart`, or the start of a pending multiline group, so a restart re-reads exactly what was
 * not emitted.
 */
export class TrackedFile {
  readPos: number;
  lineStart: number;
  /** Bytes of a line whose newline has not been read yet (at most `max_line_bytes`). */
  tail: Buffer | undefined;
  /** Inside an over-long line: its bytes are dropped until the next newline. */
  discarding = false;
  /** With `on_long_line = "truncate"`: the first `max_line_bytes` bytes of that line. */
  longPrefix: Buffer | undefined;
  group: PendingGroup | undefined;
  /** Renamed away from every included path (rotation) or deleted: finish it, then close it. */
  gone = false;
  goneAt = 0;
  /** Every byte up to the size seen at the last check has been read. */
  atEof = false;
  /** When bytes were last read from it (ms). */
  lastGrowth = Date.now();
  /** The offset the last committed checkpoint holds for it: what a restart would resume from. */
  committedOffset: number;
  /**
   * Lines a full queue refused, with the offset they take the file to. Until they are committed
   * the file is not read further and its checkpoint stays at `committedOffset`, while the other
   * files go on (docs/delivery.md#when-a-destination-is-down).
   */
  held: { lines: Lines; offset: number } | undefined;
  /**
   * Where the file is now, for reopening it: the path it was last found at (`path` is the label
   * and stays the first one).
   */
  location: string;
  /** When `fd` was closed to stay within `max_open_files` (ms); 0 while open. */
  closedAt = 0;

  constructor(
    readonly key: string,
    /** The included path it was found at: the label of its lines, kept across rotation. */
    readonly path: string,
    /** Undefined while closed to stay within `max_open_files`; the offsets stay in memory. */
    public fd: number | undefined,
    public fp: Fingerprint,
    offset: number,
    location = path,
  ) {
    this.readPos = offset;
    this.lineStart = offset;
    this.committedOffset = offset;
    this.location = location;
  }

  /** Where a restart must resume: nothing before it is pending, nothing after it was emitted. */
  get checkpointOffset(): number {
    return this.group ? this.group.start : this.lineStart;
  }

  /** A line without its newline is held back (or an over-long one is being skipped). */
  get hasPartial(): boolean {
    return this.tail !== undefined || this.discarding;
  }
}
