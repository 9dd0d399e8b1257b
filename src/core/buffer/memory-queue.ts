import type { DeadLetterInput, QueueStore, QueuedBatch } from './store.js';
import { type BatchMeta, type BufferOptions, type DeliveryRange, SinkQueue } from './queue.js';

/** For users who accept losing what is queued when the process dies; never touches disk. */
export class MemoryQueue extends SinkQueue {
  private items: QueuedBatch[] = [];
  private nextSeq = Date.now() * 1000;
  private pinnedRange: DeliveryRange | undefined;

  constructor(
    private readonly store: QueueStore,
    sink: string,
    options: BufferOptions,
  ) {
    super(sink, options);
  }

  append(data: Buffer, events: number, createdUs: number, origin?: string, given = false): number {
    const seq = this.nextSeq++;
    // Unless given, the caller's buffer is the emitter's encoder, reused for the next batch: keep a copy.
    this.items.push({ seq, events, bytes: data.length, createdUs, origin: origin ?? null, data: given ? data : Buffer.from(data) });
    return seq;
  }

  head(limit: number): BatchMeta[] {
    return this.items.slice(0, limit).map(({ seq, events, bytes, createdUs, origin }) => ({ seq, events, bytes, createdUs, origin }));
  }

  headAfter(seq: number, limit: number): BatchMeta[] {
    const from = this.items.findIndex((b) => b.seq > seq);
    return from < 0 ? [] : this.items.slice(from, from + limit).map(({ seq: s, events, bytes, createdUs, origin }) => ({ seq: s, events, bytes, createdUs, origin }));
  }

  payloads(range: DeliveryRange): QueuedBatch[] {
    return this.items.filter((b) => b.seq >= range.first && b.seq <= range.last);
  }

  ack(range: DeliveryRange, delivered: readonly BatchMeta[], deadLetters: DeadLetterInput[]): void {
    if (deadLetters.length > 0) this.store.transaction(() => deadLetters.forEach((dl) => this.store.addDeadLetter(dl)));
    this.items = this.items.filter((b) => b.seq < range.first || b.seq > range.last);
    this.pinnedRange = undefined;
    this.releasedBatches(delivered);
  }

  pinned(): DeliveryRange | undefined {
    return this.pinnedRange;
  }

  pin(range: DeliveryRange): void {
    this.pinnedRange = range;
  }

  close(): void {
    this.wakeAll();
  }
}
