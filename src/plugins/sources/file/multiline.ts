import type { LineHandler } from './line-splitter.js';
import type { TrackedFile } from './tracked-file.js';

export interface MultilineOptions {
  start_pattern: string;
  timeout_secs: number;
  max_bytes: number;
}

/**
 * Joins continuation lines into the event they belong to: a line matching
 * `start_pattern` opens a new event; any other line is appended (with a newline) to the open
 * one. An event is emitted when the next one starts, when it reaches `max_bytes`, or when no
 * line was added for `timeout_secs` while the file is at its end. Until then the file's
 * checkpoint stays at the event's first line, so a restart rebuilds it whole.
 */
export class Multiline implements LineHandler {
  private readonly pattern: RegExp;
  private readonly timeoutMs: number;

  constructor(
    options: MultilineOptions,
    private readonly emit: (f: TrackedFile, text: string, readUs: number) => void,
  ) {
    this.pattern = new RegExp(options.start_pattern);
    this.timeoutMs = options.timeout_secs * 1000;
    this.maxBytes = options.max_bytes;
  }

  private readonly maxBytes: number;

  line(f: TrackedFile, text: string, start: number, bytes: number, readUs: number): void {
    const g = f.group;
    if (g && !this.pattern.test(text)) {
      g.parts.push(text);
      g.bytes += bytes + 1;
      g.lastAt = readUs / 1000;
      if (g.bytes >= this.maxBytes) this.finish(f);
      return;
    }
    if (g) this.finish(f);
    // A continuation line with nothing open before it (the start of a file) opens an event too.
    f.group = { parts: [text], bytes, start, readUs, lastAt: readUs / 1000 };
    if (bytes >= this.maxBytes) this.finish(f);
  }

  /** Emit the open event of `f`, if any. */
  finish(f: TrackedFile): void {
    const g = f.group;
    if (!g) return;
    f.group = undefined;
    this.emit(f, g.parts.length === 1 ? (g.parts[0] as string) : g.parts.join('\n'), g.readUs);
  }

  /** When the open event of `f` times out (ms), if it has one. */
  dueAt(f: TrackedFile): number | undefined {
    return f.group ? f.group.lastAt + this.timeoutMs : undefined;
  }
}
