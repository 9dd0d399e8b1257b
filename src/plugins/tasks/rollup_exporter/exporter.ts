/**
 * One export cycle: from `watermark - lateness` (or, on the first run, the oldest
 * bucket) up to the closed limit, window by window:
 *
 *   plain PostgreSQL: refresh the window's buckets from metrics_points (late points folded in)
 *   count rows per bucket → cut into chunks of ≤ max_rows_per_cycle → per chunk:
 *     take a new version → COPY from PostgreSQL into one ClickHouse insert → advance the watermark
 *
 * Why ClickHouse ends up equal to PostgreSQL after any mix of late points, crashes and replays:
 * a bucket that can still change is inside the next cycle's range (lateness ≥ how far back
 * PostgreSQL rewrites buckets), each export writes the bucket's current rows with a version higher
 * than every earlier export, and `metrics_1m FINAL` returns the highest version per key. A crash
 * before the watermark commit only means the next cycle writes the same buckets again.
 */
import type { Logger } from 'pino';
import { type ComponentMetrics, errorMessage, type StateStore, ThermoclineError } from '../../../index.js';
import { insertChunk, readChunk } from './chunk.js';
import type { ChEndpoint, Endpoints, PgEndpoint } from './endpoints.js';
import { MINUTE_MS, bucketCounts, caggWatermark, floorMinute, oldestBucket, oldestPointMinute, refreshPlain, refreshPolicyReachMinutes } from './pg-source.js';
import { type Chunk, INITIAL_SPAN_MINUTES, cutChunks, cycleStart, nextSpanMinutes, progress } from './plan.js';
import { LabelsCache } from './rows.js';
import { checkClickHouseSchema, checkPostgresSchema } from './schema.js';
import { ExportState } from './state.js';
import { CAGG_ERRORS } from './errors.js';

export interface ExporterOptions {
  /** The component id: names the export's deduplication tokens. */
  readonly id: string;
  readonly latenessMs: number;
  readonly maxRowsPerCycle: number;
  readonly endpoints: Endpoints;
  readonly state: StateStore;
  readonly logger: Logger;
  readonly metrics?: ComponentMetrics;
  /** Progress lines of a long export at most this often (default 10 s). */
  readonly progressIntervalMs?: number;
  /** The clock that decides which buckets are closed (tests fix it); default Date.now. */
  readonly clock?: () => number;
  /** Called after every chunk: the CLI prints progress with it. */
  readonly onChunk?: (p: ChunkProgress) => void;
}

export interface ChunkProgress {
  readonly from: number;
  readonly to: number;
  readonly rows: number;
  readonly totalRows: number;
  readonly percent: number;
  readonly etaSecs: number | undefined;
}

export interface ExportReport {
  /** The range covered (empty when from === to). */
  readonly from: number;
  readonly to: number;
  readonly rows: number;
  readonly bytes: number;
  /** Buckets holding at least one row. */
  readonly buckets: number;
  readonly chunks: number;
  /** Plain PostgreSQL: rollup rows recomputed from metrics_points. */
  readonly refreshed: number;
  readonly watermark: number | undefined;
  readonly elapsedMs: number;
}

interface Limits {
  /** Buckets below this are closed: complete in PostgreSQL. */
  readonly closed: number;
  /** Minutes back from the watermark that PostgreSQL may still rewrite (TimescaleDB policy). */
  readonly reachMinutes: number;
}

export class RollupExporter {
  private readonly state: ExportState;
  private readonly labels = new LabelsCache();
  private spanMinutes = INITIAL_SPAN_MINUTES;
  private checked: { pg: unknown; ch: unknown } | undefined;
  private warnedReach = false;
  private readonly counters;

  constructor(private readonly o: ExporterOptions) {
    this.state = new ExportState(o.state);
    const m = o.metrics;
    this.counters = m && {
      cycles: m.counter('cycles_total', 'Export cycles completed.'),
      chunks: m.counter('chunks_total', 'Chunks (one ClickHouse insert each) exported.'),
      refreshed: m.counter('rows_refreshed_total', 'Plain PostgreSQL: metrics_1m rows recomputed from metrics_points before export.'),
      lag: m.gauge('lag_seconds', 'Seconds between now and the watermark: how far ClickHouse metrics_1m is behind.'),
      watermark: m.gauge('watermark_timestamp_seconds', 'The watermark as a Unix time: buckets below it are in ClickHouse.'),
    };
  }

  /** The stored watermark (epoch ms), if any. */
  watermark(): number | undefined {
    return this.state.watermark();
  }

  /** One cycle: export from `watermark - lateness` to the closed limit and advance the watermark. */
  async runCycle(signal: AbortSignal): Promise<ExportReport> {
    const { pg, ch } = await this.connect();
    const started = Date.now();
    const limits = await this.limits(pg, this.now());
    const watermark = this.state.watermark();
    const from = watermark === undefined ? await this.oldest(pg) : cycleStart(watermark, this.o.latenessMs, limits.reachMinutes);
    const report =
      from === undefined || from >= limits.closed
        ? this.emptyReport(limits.closed, started)
        : await this.exportBetween(pg, ch, from, limits.closed, { advance: true, signal, started });
    this.counters?.cycles.inc();
    this.updateLag();
    return report;
  }

  /**
   * Exports [from, to) (cut at the closed limit) without touching the watermark: the CLI's
   * `--from/--to`, for backfills and repairs. On plain PostgreSQL the range is refreshed first.
   */
  async exportRange(from: number, to: number, signal: AbortSignal): Promise<ExportReport> {
    const { pg, ch } = await this.connect();
    const started = Date.now();
    const { closed } = await this.limits(pg, this.now());
    const end = Math.min(floorMinute(to), closed);
    const start = floorMinute(from);
    if (start >= end) return this.emptyReport(start, started);
    return this.exportBetween(pg, ch, start, end, { advance: false, signal, started });
  }

  private now(): number {
    return (this.o.clock ?? Date.now)();
  }

  private async connect(): Promise<{ pg: PgEndpoint; ch: ChEndpoint }> {
    const [pg, ch] = await Promise.all([this.o.endpoints.postgres(), this.o.endpoints.clickhouse()]);
    // Once per connection: a reload that swapped a sink gives new ones, checked again.
    if (this.checked?.pg !== pg.pool || this.checked.ch !== ch.client) {
      await checkPostgresSchema(pg);
      await checkClickHouseSchema(ch);
      this.checked = { pg: pg.pool, ch: ch.client };
    }
    return { pg, ch };
  }

  private async limits(pg: PgEndpoint, now: number): Promise<Limits> {
    const endOffset = floorMinute(now) - pg.params.pg_cagg_end_offset_minutes * MINUTE_MS;
    if (pg.flavour === 'plain') return { closed: endOffset, reachMinutes: 0 };
    const [watermark, reach] = await Promise.all([caggWatermark(pg.pool), refreshPolicyReachMinutes(pg.pool, pg.params)]);
    if (reach === undefined && !this.warnedReach) {
      this.warnedReach = true;
      this.o.logger.warn('the refresh policy of metrics_1m has no start_offset (it may rewrite any bucket): only `lateness` behind the watermark is exported again');
    } else if (reach !== undefined && reach * MINUTE_MS > this.o.latenessMs && !this.warnedReach) {
      this.warnedReach = true;
      this.o.logger.info({ reach_minutes: reach }, `the refresh policy of metrics_1m rewrites buckets up to ${reach} minutes back: every cycle exports that far back, more than \`lateness\``);
    }
    // Nothing materialized yet: nothing is closed.
    const closed = watermark === undefined ? Number.NEGATIVE_INFINITY : Math.min(floorMinute(watermark), endOffset);
    return { closed, reachMinutes: reach ?? 0 };
  }

  /** The first bucket of a first export: the oldest rollup, or on plain PostgreSQL the oldest point if older. */
  private async oldest(pg: PgEndpoint): Promise<number | undefined> {
    const [bucket, point] = await Promise.all([oldestBucket(pg.pool), pg.flavour === 'plain' ? oldestPointMinute(pg.pool) : undefined]);
    const candidates = [bucket, point].filter((v): v is number => v !== undefined);
    return candidates.length > 0 ? floorMinute(Math.min(...candidates)) : undefined;
  }

  private async exportBetween(
    pg: PgEndpoint,
    ch: ChEndpoint,
    from: number,
    to: number,
    run: { advance: boolean; signal: AbortSignal; started: number },
  ): Promise<ExportReport> {
    const { maxRowsPerCycle: maxRows, logger } = this.o;
    const plain = pg.flavour === 'plain';
    const oldestPoint = plain ? await oldestPointMinute(pg.pool) : undefined;
    const totals = { rows: 0, bytes: 0, buckets: 0, chunks: 0, refreshed: 0 };
    const long = to - from > this.spanMinutes * MINUTE_MS;
    if (long) logger.info({ from: iso(from), to: iso(to), buckets: (to - from) / MINUTE_MS }, `exporting metrics_1m from ${iso(from)} to ${iso(to)} in chunks of at most ${maxRows} rows`);
    let lastLog = Date.now();
    // The insert of one chunk runs while the next is read from PostgreSQL (two engines, two cores).
    let inFlight: { insert: Promise<void>; chunk: Chunk; rows: number; bytes: number } | undefined;
    const settle = async () => {
      if (!inFlight) return;
      const { insert, chunk, rows, bytes } = inFlight;
      inFlight = undefined;
      await insert;
      totals.rows += rows;
      totals.bytes += bytes;
      totals.chunks++;
      this.o.metrics?.sent(rows, bytes);
      this.counters?.chunks.inc();
      this.committed(chunk, run.advance, from, to, totals.rows, run.started);
    };
    try {
      for (let a = from; a < to; ) {
        const b = Math.min(to, a + this.spanMinutes * MINUTE_MS);
        if (plain) {
          const refreshed = await refreshPlain(pg.pool, a, b, oldestPoint);
          totals.refreshed += refreshed;
          this.counters?.refreshed.inc(refreshed);
        }
        const counts = await bucketCounts(pg.pool, a, b);
        let windowRows = 0;
        for (const chunk of cutChunks(counts, a, b, maxRows)) {
          if (run.signal.aborted) throw new ThermoclineError(CAGG_ERRORS.TC_CAGG_EXPORT_FAILED, 'the export was stopped');
          if (chunk.rows === 0) {
            // Nothing to write, but the watermark may only pass it after the chunks before it.
            await settle();
            this.committed(chunk, run.advance, from, to, totals.rows, run.started);
            continue;
          }
          const version = this.state.nextVersion(Date.now());
          const read = await readChunk(pg, chunk, version, this.labels, run.signal);
          await settle();
          windowRows += read.rows;
          const insert = insertChunk(ch, read.body, `${this.o.id}:${version}`, run.signal);
          // Observed by settle(); this only keeps a failure from being reported as unhandled meanwhile.
          insert.catch(() => undefined);
          inFlight = { insert, chunk, rows: read.rows, bytes: read.body.length };
        }
        totals.buckets += counts.filter((c) => c.rows > 0).length;
        this.spanMinutes = nextSpanMinutes(this.spanMinutes, windowRows, (b - a) / MINUTE_MS, maxRows);
        a = b;
        if (long && a < to && Date.now() - lastLog >= (this.o.progressIntervalMs ?? 10_000)) {
          lastLog = Date.now();
          const p = progress(from, to, a, lastLog - run.started);
          logger.info(
            { rows: totals.rows, buckets: totals.buckets, up_to: iso(a), percent: p.percent, eta_secs: p.etaSecs },
            `exporting metrics_1m: ${p.percent}% (${totals.rows} rows, ${totals.buckets} buckets, up to ${iso(a)})${p.etaSecs === undefined ? '' : `, about ${Math.ceil(p.etaSecs)} s left`}`,
          );
        }
      }
      await settle();
    } catch (err) {
      // An insert still running succeeded or failed on its own: wait for it, keep what it wrote.
      await settle().catch(() => undefined);
      throw err;
    } finally {
      this.updateLag();
    }
    const report: ExportReport = { from, to, ...totals, watermark: this.state.watermark(), elapsedMs: Date.now() - run.started };
    if (totals.rows > 0) this.state.recordExport({ at: new Date().toISOString(), rows: totals.rows, buckets: totals.buckets, from: iso(from), to: iso(to) });
    const rate = report.elapsedMs > 0 ? Math.round((totals.rows * 1000) / report.elapsedMs) : totals.rows;
    const line = { from: iso(from), to: iso(to), rows: totals.rows, buckets: totals.buckets, chunks: totals.chunks, refreshed: totals.refreshed, elapsed_ms: report.elapsedMs, rows_per_sec: rate };
    if (long) logger.info(line, `exported ${totals.rows} metrics_1m rows (${totals.buckets} buckets) in ${(report.elapsedMs / 1000).toFixed(1)} s, ${rate} rows/s`);
    else logger.debug(line, 'export cycle done');
    return report;
  }

  /** After a chunk is in ClickHouse (or had no rows): move the watermark, report progress. */
  private committed(chunk: Chunk, advance: boolean, from: number, to: number, totalRows: number, started: number): void {
    if (advance) this.state.advanceWatermark(chunk.to);
    if (this.o.onChunk) this.o.onChunk({ from: chunk.from, to: chunk.to, rows: chunk.rows, totalRows, ...progress(from, to, chunk.to, Date.now() - started) });
  }

  private emptyReport(at: number, started: number): ExportReport {
    const to = Number.isFinite(at) ? at : 0;
    return { from: to, to, rows: 0, bytes: 0, buckets: 0, chunks: 0, refreshed: 0, watermark: this.state.watermark(), elapsedMs: Date.now() - started };
  }

  private updateLag(): void {
    const watermark = this.state.watermark();
    if (watermark === undefined || !this.counters) return;
    this.counters.watermark.set(watermark / 1000);
    this.counters.lag.set(Math.max(0, (this.now() - watermark) / 1000));
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A failure of a cycle, classified for the log: its own code when it has one. */
export function describeFailure(err: unknown): { code: string; message: string } {
  const code = err instanceof ThermoclineError ? err.code : CAGG_ERRORS.TC_CAGG_EXPORT_FAILED;
  return { code, message: errorMessage(err) };
}
