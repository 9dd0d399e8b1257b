import type Database from 'better-sqlite3';
import type { QueueStore } from './store.js';

export interface MaintenanceOptions {
  /** Dead letters older than this are deleted. */
  deadLetterMaxAgeMs: number;
  /** The dead-letter table is cut, oldest first, to this many bytes. */
  deadLetterMaxBytes: number;
  /** Called with what each pruning rule deleted, when it deleted something. */
  onPruned?: (reason: 'max_age' | 'max_bytes', entries: number) => void;
  /** Called with the bytes a tick gave back to the file system. */
  onReclaimed?: (bytes: number) => void;
  /** A maintenance step failed (a full disk, a reader holding the WAL); it is tried again later. */
  onError?: (step: 'reclaim' | 'checkpoint' | 'prune', err: unknown) => void;
  tickMs?: number;
  pruneEveryMs?: number;
}

/*
 * How much vacuum a tick may do on the event loop. A step of 32 pages (2 MiB at 64 KiB pages)
 * took under 1 ms in bench/queue-space.ts; steps repeat until the budget is spent, then a passive
 * checkpoint (tens of ms) writes the shrink out, so a drained 1 GiB backlog is given back in
 * about 20 ticks while sources and the API keep being served.
 */
const STEP_PAGES = 32;
const TICK_BUDGET_MS = 20;
/*
 * While batches flow, pages a delivery frees are reused by the next appends; vacuuming them moves
 * the newest batches to the freed slots (their pages written to the WAL once more) and the file
 * grows again at once. So while writes go on, as many free pages are kept as the queue's batches
 * fill (the room the next appends need), and at least 16 MiB; only what is free beyond that (a
 * drained backlog) is given back. Once the database is idle everything is.
 */
const RESERVE_MIN_BYTES = 16 * 2 ** 20;

/**
 * Keeps the queue database bounded (docs/operations.md#disk-space): gives pages freed by
 * deliveries back to the file system in small incremental-vacuum steps, truncates the
 * write-ahead log once the database is idle (no row written since the previous tick and nothing
 * left to reclaim), and prunes dead letters by age and size. Every step runs on a timer between
 * transactions, never inside one; a failure is reported and retried at the next tick.
 */
export class QueueMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private lastChanges = -1;
  private lastPrune = 0;
  private walTruncated = false;

  constructor(
    private readonly store: QueueStore,
    private readonly options: MaintenanceOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.prune();
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 1000);
    this.timer.unref();
  }

  /** Idempotent, safe without `start()`. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round of work within the tick budget; public so that tests and the bench can drive it. */
  tick(): void {
    if (!this.store.db.open) return;
    const changes = this.totalChanges();
    const idle = changes === this.lastChanges;
    if (!idle) this.walTruncated = false;
    this.lastChanges = changes;
    const excess = this.excessPages(idle);
    const reclaimed = excess > 0 ? this.reclaim(excess) : 0;
    if (Date.now() - this.lastPrune >= (this.options.pruneEveryMs ?? 60_000)) this.prune();
    if (idle && reclaimed === 0 && !this.walTruncated && this.store.freePages() === 0) {
      try {
        this.walTruncated = this.store.truncateWal();
      } catch (err) {
        this.options.onError?.('checkpoint', err);
      }
    }
  }

  /** Free pages to give back: all of them once idle, else those beyond the reserve for the next appends. */
  private excessPages(idle: boolean): number {
    const free = this.store.freePages();
    if (free === 0 || idle) return free;
    const inUse = this.store.pageCount() - free;
    return free - Math.max(RESERVE_MIN_BYTES / this.store.pageSize, inUse);
  }

  /** Gives up to `limit` free pages back, within the tick's budget; returns the pages. */
  private reclaim(limit: number): number {
    const started = performance.now();
    let pages = 0;
    try {
      while (pages < limit && performance.now() - started < TICK_BUDGET_MS) {
        const n = this.store.reclaim(Math.min(STEP_PAGES, limit - pages));
        if (n <= 0) break;
        pages += n;
      }
      if (pages > 0) this.store.checkpointPassive();
    } catch (err) {
      this.options.onError?.('reclaim', err);
    }
    if (pages > 0) {
      this.walTruncated = false;
      this.options.onReclaimed?.(pages * this.store.pageSize);
    }
    return pages;
  }

  private prune(): void {
    this.lastPrune = Date.now();
    try {
      const pruned = this.store.pruneDeadLetters(Date.now() * 1000, this.options.deadLetterMaxAgeMs * 1000, this.options.deadLetterMaxBytes);
      for (const reason of ['max_age', 'max_bytes'] as const) if (pruned[reason] > 0) this.options.onPruned?.(reason, pruned[reason]);
    } catch (err) {
      this.options.onError?.('prune', err);
    }
  }

  private changesStmt: Database.Statement | undefined;

  /** Rows written by the agent's connection so far: unchanged between two ticks means idle. */
  private totalChanges(): number {
    this.changesStmt ??= this.store.db.prepare('SELECT total_changes() AS n');
    return (this.changesStmt.get() as { n: number }).n;
  }
}
