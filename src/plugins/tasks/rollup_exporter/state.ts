/**
 * The exporter's persistent state, in the agent's state database (`ctx.state`, shown under
 * `stored_state` in `/components`):
 *
 * - `watermark`: every bucket below it has been written to ClickHouse as PostgreSQL had it at some
 *   export. It is committed only after ClickHouse acknowledged the insert, so a crash in between
 *   leaves it behind and the next cycle writes the same buckets again. Stored as ISO 8601 text.
 * - `version`: the last ClickHouse row version handed out. Versions are the export time in
 *   microseconds, forced strictly above the previous one and stored *before* the insert, so a later
 *   export of a bucket always wins in the ReplacingMergeTree, even across restarts and a clock that
 *   steps back.
 *
 * Both only move forward (the larger of the stored and the new value), and both are read from the
 * store on every use, so `thermocline export-rollups` run against the same data_dir while the
 * agent runs cannot move them back.
 */
import type { Json, StateStore } from '../../../index.js';

export interface ExportSummary {
  readonly at: string;
  readonly rows: number;
  readonly buckets: number;
  readonly from: string;
  readonly to: string;
}

export class ExportState {
  constructor(private readonly store: StateStore) {}

  /** The watermark in epoch milliseconds, or undefined before the first export. */
  watermark(): number | undefined {
    const raw = this.store.get('watermark');
    if (typeof raw !== 'string') return undefined;
    const ms = Date.parse(raw);
    return Number.isFinite(ms) ? ms : undefined;
  }

  /** Moves the watermark to `to` unless it is already there or beyond. */
  advanceWatermark(to: number): void {
    const current = this.watermark();
    if (current !== undefined && current >= to) return;
    this.store.set('watermark', new Date(to).toISOString());
  }

  /** A version above every one handed out before, committed before it is used. */
  nextVersion(nowMs: number): number {
    const stored = this.store.get('version');
    const last = typeof stored === 'number' && Number.isSafeInteger(stored) ? stored : 0;
    const version = Math.max(Math.floor(nowMs * 1000), last + 1);
    this.store.set('version', version);
    return version;
  }

  recordExport(summary: ExportSummary): void {
    this.store.set('last_export', summary as unknown as Json);
  }
}
