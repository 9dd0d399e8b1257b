import type { Json } from '../../../index.js';

/**
 * The stream sequences this source has committed to its queue and that JetStream may still
 * redeliver (those above the consumer's acknowledgement floor): kept as sorted runs of
 * contiguous sequences, because a gateway commits what one fetch returned, which is mostly
 * contiguous. It is saved as the source's checkpoint in the same transaction as the events, so a
 * redelivery after a crash between the commit and the acknowledgement is recognised
 * (docs/scaling.md, "The guarantee at each hop").
 *
 * Checkpoint: `{ v: 1, stream, floor, runs: [start, length, gap, length, gap, length, ...] }`,
 * each start after the first given as the gap from the end of the previous run.
 */
export class CommittedSequences {
  private constructor(
    readonly stream: string,
    /** Every sequence at or below is acknowledged to JetStream and never redelivered. */
    readonly floor: number,
    /** Sorted, disjoint, non-adjacent [start, end] pairs, all above `floor`. */
    private readonly runs: ReadonlyArray<readonly [number, number]>,
  ) {}

  static empty(stream: string): CommittedSequences {
    return new CommittedSequences(stream, 0, []);
  }

  /** The set in a checkpoint, or an empty one when it belongs to another stream or is unreadable. */
  static fromCheckpoint(stream: string, cp: Json | undefined): CommittedSequences {
    if (!cp || typeof cp !== 'object' || Array.isArray(cp) || cp.v !== 1 || cp.stream !== stream || !Array.isArray(cp.runs)) return CommittedSequences.empty(stream);
    const flat = cp.runs.map(Number);
    const runs: Array<[number, number]> = [];
    let end = 0;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const start = i === 0 ? (flat[0] as number) : end + (flat[i] as number);
      end = start + (flat[i + 1] as number) - 1;
      runs.push([start, end]);
    }
    return new CommittedSequences(stream, Number(cp.floor) || 0, runs);
  }

  toCheckpoint(): Json {
    const flat: number[] = [];
    let end = 0;
    this.runs.forEach(([s, e], i) => {
      flat.push(i === 0 ? s : s - end, e - s + 1);
      end = e;
    });
    return { v: 1, stream: this.stream, floor: this.floor, runs: flat };
  }

  get size(): number {
    return this.runs.reduce((n, [s, e]) => n + e - s + 1, 0);
  }

  get runCount(): number {
    return this.runs.length;
  }

  has(seq: number): boolean {
    if (seq <= this.floor) return true;
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [s, e] = this.runs[mid] as readonly [number, number];
      if (seq < s) hi = mid - 1;
      else if (seq > e) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /**
   * A new set with `seqs` added, runs merged, and at most `maxSize` sequences kept: beyond it the
   * oldest runs are dropped (a redelivery of those would be emitted again; the caller logs it).
   */
  with(seqs: readonly number[], maxSize = Infinity): { set: CommittedSequences; forgotten: number } {
    const points = [...this.runs.map(([s, e]) => [s, e] as [number, number]), ...seqs.filter((q) => q > this.floor).map((q) => [q, q] as [number, number])].sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const [s, e] of points) {
      const last = merged[merged.length - 1];
      if (last && s <= last[1] + 1) last[1] = Math.max(last[1], e);
      else merged.push([s, e]);
    }
    let size = merged.reduce((n, [s, e]) => n + e - s + 1, 0);
    let forgotten = 0;
    while (size > maxSize && merged.length > 1) {
      const [s, e] = merged.shift() as [number, number];
      size -= e - s + 1;
      forgotten += e - s + 1;
    }
    return { set: new CommittedSequences(this.stream, this.floor, merged), forgotten };
  }

  /** Drop what JetStream will never redeliver: everything at or below its acknowledgement floor. */
  prunedTo(floor: number): CommittedSequences {
    if (floor <= this.floor) return this;
    const runs: Array<[number, number]> = [];
    for (const [s, e] of this.runs) if (e > floor) runs.push([Math.max(s, floor + 1), e]);
    return new CommittedSequences(this.stream, floor, runs);
  }
}
