import type { BoundCounter, ComponentMetrics } from '../../../index.js';
import type { SplitCounts } from './line-splitter.js';
import type { ParseCounts } from './parse/event-builder.js';

/**
 * The source's own metrics (`thermocline_file_*`, docs/operations.md#plugin-metrics). Per-line
 * problems are counted in plain numbers on the hot path and added to the prom-client counters once
 * per batch.
 */
export class SourceCounters {
  readonly rotated: BoundCounter;
  readonly truncated: BoundCounter;
  readonly partialFlushed: BoundCounter;
  private readonly longLines: BoundCounter;
  private readonly invalidUtf8: BoundCounter;
  private readonly parseErrors: BoundCounter;
  private readonly badTimestamps: BoundCounter;
  private readonly open: { set(v: number): void };
  private readonly tracked: { set(v: number): void };
  /** Lines the source holds back for full queues, across its files (bounded: see tailer.ts). */
  readonly heldLines: { set(v: number): void };
  readonly closedForLimit: BoundCounter;
  private readonly seen = { longLines: 0, invalidUtf8: 0, parseErrors: 0, badTimestamps: 0 };

  constructor(
    metrics: ComponentMetrics,
    private readonly split: SplitCounts,
    private readonly parse: ParseCounts,
  ) {
    this.rotated = metrics.counter('rotations_total', 'Files that were renamed away from the included paths or deleted (each is read to its end first), and files found rotated away before the source saw them at the path (read whole).');
    this.truncated = metrics.counter(
      'truncations_total',
      'Files found shorter than what was read, or rewritten from the start (copytruncate): read again from the start.',
    );
    this.partialFlushed = metrics.counter('partial_lines_total', 'Last lines without a newline emitted after partial_line_timeout_secs.');
    this.longLines = metrics.counter('long_lines_total', 'Lines longer than max_line_bytes, truncated or skipped as on_long_line says.');
    this.invalidUtf8 = metrics.counter('invalid_utf8_lines_total', 'Lines with invalid UTF-8, kept with U+FFFD in place of the bad bytes.');
    this.parseErrors = metrics.counter('parse_errors_total', 'Lines that did not parse as the configured format and were kept as plain messages.');
    this.badTimestamps = metrics.counter('invalid_timestamps_total', 'Records whose timestamp field could not be read; the read time was used.');
    this.open = metrics.gauge('open_files', 'Files the source holds open (at most max_open_files, plus files rotated away being finished).');
    this.tracked = metrics.gauge('tracked_files', 'Files the source follows, open or closed to stay within max_open_files.');
    this.heldLines = metrics.gauge('held_lines', 'Lines read and held back because a queue they go to is full; the files they come from are not read further until they are committed.');
    this.closedForLimit = metrics.counter('files_closed_for_limit_total', 'Files closed to stay within max_open_files; each is reopened from its offset when it grows.');
  }

  openFiles(n: number): void {
    this.open.set(n);
  }

  trackedFiles(n: number): void {
    this.tracked.set(n);
  }

  /** Move what the hot path counted since the last call into the exported counters. */
  flush(): void {
    const s = this.seen;
    if (this.split.longLines !== s.longLines) this.longLines.inc(this.split.longLines - s.longLines);
    if (this.split.invalidUtf8 !== s.invalidUtf8) this.invalidUtf8.inc(this.split.invalidUtf8 - s.invalidUtf8);
    if (this.parse.parseErrors !== s.parseErrors) this.parseErrors.inc(this.parse.parseErrors - s.parseErrors);
    if (this.parse.badTimestamps !== s.badTimestamps) this.badTimestamps.inc(this.parse.badTimestamps - s.badTimestamps);
    s.longLines = this.split.longLines;
    s.invalidUtf8 = this.split.invalidUtf8;
    s.parseErrors = this.parse.parseErrors;
    s.badTimestamps = this.parse.badTimestamps;
  }
}
