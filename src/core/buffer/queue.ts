import type Database from 'better-sqlite3';
import { type AppendedBatch, RecentBatches } from './recent-batches.js';
import type { DeadLetterInput, QueueStore, QueuedBatch } from './store.js';

export type WhenFull = 'block' | 'drop_newest';

export interface BufferOptions {
  type: 'disk' | 'memory';
  max_bytes: number;
  /** Memory buffers only: a cap on queued events as well. */
  max_events?: number;
  when_full: WhenFull;
}

export interface BatchMeta {
  seq: number;
  events: number;
  bytes: number;
  createdUs: number;
  /** The batch's upstream identity (`EmitOptions.origins`); null for batches without one. */
  origin?: string | null;
}

export interface DeliveryRange {
  first: number;
  last: number;
}

/**
 * A sink's queue: batches in order, read by the sink's runner and removed only once delivered.
 * Writes happen inside the store transaction the runtime opens for an emit; counters are applied
 * by `committed` after that transaction succeeds.
 */
export abstract class SinkQueue {
  events = 0;
  bytes = 0;
  batches = 0;
  private dataWaiters: Array<() => void> = [];
  private appendWaiters: Array<() => void> = [];
  private roomWaiters: Array<() => void> = [];

  constructor(
    readonly sink: string,
    private current: BufferOptions,
  ) {}

  get options(): BufferOptions {
    return this.current;
  }

  /**
   * Apply new limits on reload without replacing the queue (a memory queue would lose what it
   * holds). The storage type is kept: moving batches between memory and disk is a restart's job.
   */
  reconfigure(options: BufferOptions): void {
    this.current = { ...options, type: this.current.type };
    this.released(0, 0, 0); // a larger limit may have made room for waiting sources
  }

  isFull(): boolean {
    if (this.batches === 0) return false; // an oversized batch must still fit into an empty queue
    if (this.bytes >= this.options.max_bytes) return true;
    return this.options.max_events !== undefined && this.events >= this.options.max_events;
  }

  /**
   * Append inside the caller's transaction; returns the seq. `given`: the caller never modifies
   * `data` again, so the queue may keep it without a copy.
   */
  abstract append(data: Buffer, events: number, createdUs: number, origin?: string, given?: boolean): number;
  /** Metadata of the oldest batches, in order, up to `limit`. */
  abstract head(limit: number): BatchMeta[];
  /** Metadata of the oldest batches after `seq`, in order, up to `limit`. */
  abstract headAfter(seq: number, limit: number): BatchMeta[];
  /** Payloads of the batches with `first <= seq <= last`, in order. */
  abstract payloads(range: DeliveryRange): QueuedBatch[];
  /**
   * Remove a delivered range (and its pin), recording dead letters in the same transaction.
   * `delivered` are the metadata of the batches in the range, as the runner read them.
   */
  abstract ack(range: DeliveryRange, delivered: readonly BatchMeta[], deadLetters: DeadLetterInput[]): void;

  protected releasedBatches(delivered: readonly BatchMeta[]): void {
    let events = 0;
    let bytes = 0;
    for (const m of delivered) {
      events += m.events;
      bytes += m.bytes;
    }
    this.released(events, bytes, delivered.length);
  }
  abstract pinned(): DeliveryRange | undefined;
  abstract pin(range: DeliveryRange): void;
  abstract close(): void;

  /** After the transaction that appended `batch` committed: count it and wake the runner. */
  committed(batch: AppendedBatch): void {
    this.events += batch.events;
    this.bytes += batch.bytes;
    this.batches += 1;
    const waiters = this.dataWaiters;
    this.dataWaiters = [];
    for (const w of waiters) w();
    const appended = this.appendWaiters;
    this.appendWaiters = [];
    for (const w of appended) w();
  }

  protected released(events: number, bytes: number, batches: number): void {
    this.events = Math.max(0, this.events - events);
    this.bytes = Math.max(0, this.bytes - bytes);
    this.batches = Math.max(0, this.batches - batches);
    if (!this.isFull()) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves when a batch is appended (or at once if the queue is not empty). */
  whenData(): Promise<void> {
    if (this.batches > 0) return Promise.resolve();
    return new Promise((resolve) => this.dataWaiters.push(resolve));
  }

  /** Resolves at the next append, even if the queue is not empty. */
  whenAppended(): Promise<void> {
    return new Promise((resolve) => this.appendWaiters.push(resolve));
  }

  /** Resolves when the queue has room again. */
  whenRoom(): Promise<void> {
    if (!this.isFull()) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Wake everything waiting on this queue (used at shutdown). */
  wakeAll(): void {
    for (const w of this.dataWaiters.splice(0)) w();
    for (const w of this.appendWaiters.splice(0)) w();
    for (const w of this.roomWaiters.splice(0)) w();
  }
}

export class DiskQueue extends SinkQueue {
  private readonly sinkId: number;
  private readonly recent: RecentBatches;
  private readonly stmts: {
    insert: Database.Statement;
    head: Database.Statement;
    headAfter: Database.Statement;
    payloads: Database.Statement;
    del: Database.Statement;
    pin: Database.Statement;
    unpin: Database.Statement;
    pinned: Database.Statement;
  };

  constructor(
    private readonly store: QueueStore,
    sink: string,
    options: BufferOptions,
  ) {
    super(sink, options);
    this.recent = new RecentBatches(store.recentBudget);
    const table = store.sinkTable(sink);
    this.sinkId = store.sinkId(sink);
    const db = store.db;
    this.stmts = {
      insert: db.prepare(`INSERT INTO ${table} (created_us, events, bytes, data, origin) VALUES (?, ?, ?, ?, ?)`),
      head: db.prepare(`SELECT seq, events, bytes, created_us AS createdUs, origin FROM ${table} ORDER BY seq LIMIT ?`),
      headAfter: db.prepare(`SELECT seq, events, bytes, created_us AS createdUs, origin FROM ${table} WHERE seq > ? ORDER BY seq LIMIT ?`),
      payloads: db.prepare(`SELECT seq, events, bytes, created_us AS createdUs, origin, data FROM ${table} WHERE seq BETWEEN ? AND ? ORDER BY seq`),
      del: db.prepare(`DELETE FROM ${table} WHERE seq BETWEEN ? AND ?`),
      pin: db.prepare(`INSERT INTO deliveries (sink_id, first_seq, last_seq) VALUES (?, ?, ?) ON CONFLICT (sink_id) DO UPDATE SET first_seq = excluded.first_seq, last_seq = excluded.last_seq`),
      unpin: db.prepare(`DELETE FROM deliveries WHERE sink_id = ?`),
      pinned: db.prepare(`SELECT first_seq AS first, last_seq AS last FROM deliveries WHERE sink_id = ?`),
    };
    const totals = db.prepare(`SELECT count(*) AS batches, coalesce(sum(events), 0) AS events, coalesce(sum(bytes), 0) AS bytes FROM ${table}`).get() as {
      batches: number;
      events: number;
      bytes: number;
    };
    this.events = totals.events;
    this.bytes = totals.bytes;
    this.batches = totals.batches;
  }

  append(data: Buffer, events: number, createdUs: number, origin?: string, given = false): number {
    const seq = Number(this.stmts.insert.run(createdUs, events, data.length, data, origin ?? null).lastInsertRowid);
    this.recent.stage(seq, data, given);
    return seq;
  }

  override committed(batch: AppendedBatch): void {
    this.recent.commit(batch);
    super.committed(batch);
  }

  head(limit: number): BatchMeta[] {
    return this.stmts.head.all(limit) as BatchMeta[];
  }

  headAfter(seq: number, limit: number): BatchMeta[] {
    return this.stmts.headAfter.all(seq, limit) as BatchMeta[];
  }

  payloads(range: DeliveryRange): QueuedBatch[] {
    // Only the gaps between the batches kept in memory are read back (all of the range when none is).
    const out: QueuedBatch[] = [];
    let next = range.first;
    for (const batch of this.recent.within(range.first, range.last)) {
      if (batch.seq > next) for (const b of this.read(next, batch.seq - 1)) out.push(b);
      out.push(batch);
      next = batch.seq + 1;
    }
    if (next <= range.last) for (const b of this.read(next, range.last)) out.push(b);
    return out;
  }

  private read(first: number, last: number): QueuedBatch[] {
    return this.stmts.payloads.all(first, last) as QueuedBatch[];
  }

  ack(range: DeliveryRange, delivered: readonly BatchMeta[], deadLetters: DeadLetterInput[]): void {
    this.store.transaction(() => {
      for (const dl of deadLetters) this.store.addDeadLetter(dl);
      this.stmts.del.run(range.first, range.last);
      this.stmts.unpin.run(this.sinkId);
    });
    // Deliveries go in queue order, so nothing older than the range is left to read.
    this.recent.dropThrough(range.last);
    this.releasedBatches(delivered);
  }

  pinned(): DeliveryRange | undefined {
    return this.stmts.pinned.get(this.sinkId) as DeliveryRange | undefined;
  }

  pin(range: DeliveryRange): void {
    this.stmts.pin.run(this.sinkId, range.first, range.last);
  }

  close(): void {
    this.recent.clear();
    this.wakeAll();
  }
}
