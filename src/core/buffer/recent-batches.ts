import type { QueuedBatch } from './store.js';

/**
 * A batch an emit's transaction appended to a queue, described to the queue once it committed (its
 * bytes were taken at append, `RecentBatches.stage`: the encoder's buffer may be reused by then).
 */
export interface AppendedBatch {
  seq: number;
  bytes: number;
  events: number;
  createdUs: number;
  origin?: string | undefined;
}

/**
 * The bytes every disk queue of one database may keep in memory, together. 16 MiB holds four of
 * the largest default deliveries (4 MiB), enough for a sink that keeps up to read each batch
 * from memory, and little beside the agent's memory limit.
 */
export const RECENT_BATCH_BYTES = 16 * 1024 * 1024;

/** One allowance shared by the queues of a database, so ten sinks do not keep ten times as much. */
export class RecentBudget {
  used = 0;
  constructor(readonly limit = RECENT_BATCH_BYTES) {}
}

/**
 * The batches a disk queue committed lately, kept in memory until delivered, so that a sink that
 * keeps up reads what was just appended without reading it back from SQLite, nor checking its
 * checksum again: the bytes never left this process (docs/ARCHITECTURE.md#reading-recent-batches).
 *
 * Only committed batches are kept (a rolled-back append never is), in sequence order. When the
 * budget is spent, newer batches are not kept: the oldest are the ones read next. A delivery takes
 * the batches of its range that are here and reads only the others from SQLite, which holds them
 * all: with a backlog, the batches kept are a run that rarely covers a whole delivery, and reading
 * the whole range again would hold each of them twice.
 */
export class RecentBatches {
  private readonly batches = new Map<number, QueuedBatch>();
  /** Copies taken inside the appending transaction, waiting for it to commit. */
  private readonly staged = new Map<number, Buffer>();

  constructor(private readonly budget: RecentBudget) {}

  /**
   * At append, inside the transaction: take the bytes if they may be kept. Unless `given`, the
   * caller's buffer is the emitter's encoder, reused by the next batch of the same transaction,
   * so they are copied; a batch emitted as encoded is kept as it is (copying each message cost a
   * NATS gateway about a quarter of its CPU in runs under load, in allocations and garbage
   * collections: docs/performance.md, the NATS row). A
   * rolled-back append leaves its entry here until its seq is appended again (SQLite gives it out
   * again); that append replaces it or, past the budget, removes it, so the commit never keeps
   * the rolled-back bytes under the seq.
   */
  stage(seq: number, data: Buffer, given = false): void {
    if (this.budget.used + data.length <= this.budget.limit) this.staged.set(seq, given ? data : Buffer.from(data));
    else this.staged.delete(seq);
  }

  /** After the commit: keep the staged copy, if the budget still allows. */
  commit(a: AppendedBatch): void {
    const data = this.staged.get(a.seq);
    if (!data) return;
    this.staged.delete(a.seq);
    if (this.budget.used + data.length > this.budget.limit) return;
    this.budget.used += data.length;
    this.batches.set(a.seq, { seq: a.seq, events: a.events, bytes: data.length, createdUs: a.createdUs, origin: a.origin ?? null, data, verified: true });
  }

  /**
   * The batches kept with `first <= seq <= last`, in order: all of a range when the sink keeps up,
   * a run of them when the queue has a backlog (the queue reads the others from SQLite).
   */
  within(first: number, last: number): QueuedBatch[] {
    const out: QueuedBatch[] = [];
    for (const [seq, batch] of this.batches) {
      if (seq > last) break;
      if (seq >= first) out.push(batch);
    }
    return out;
  }

  /** Forget the batches up to `last` (delivered, or dead-lettered). */
  dropThrough(last: number): void {
    for (const [seq, batch] of this.batches) {
      if (seq > last) break;
      this.budget.used -= batch.bytes;
      this.batches.delete(seq);
    }
  }

  clear(): void {
    this.dropThrough(Number.POSITIVE_INFINITY);
    this.staged.clear();
  }
}
