import { type BatchCursor, BatchField, BatchLabels, type Labels, type LabelSet } from '../../../index.js';
import { seriesKey } from './series.js';

type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * `seriesKey` (series.ts) of the cursor's current metric, built from the batch's bytes: the name,
 * then each label's key and value in key order, each followed by a NUL. When every byte is ASCII
 * and none is NUL, that byte string read as Latin-1 is the very string `seriesKey` builds from the
 * decoded event, so the one cache serves `write` and `writeEncoded` alike; it costs one copy of the
 * bytes and one flat string, instead of a string per field, a labels object and the joined key
 * (docs/performance.md#the-postgres-sink). Anything else (UTF-8, a NUL, which `seriesKey` gives a
 * JSON key) takes the decoded strings and `seriesKey` itself, so the keys agree there too.
 *
 * One instance reads one batch at a time (`reset` for the next): key texts are cached by the
 * batch's dictionary index.
 */
export class CursorSeriesKey {
  private scratch = Buffer.allocUnsafe(4096) as Latin1;
  private readonly keyTexts: string[] = [];
  /** The order of the pairs of the last label set, and its dictionary keys (`sameKeys`). */
  private readonly order: number[] = [];
  private readonly orderKeys: number[] = [];

  /** Called before the first key of each batch. */
  reset(): void {
    this.keyTexts.length = 0;
    this.orderKeys.length = 0;
  }

  of(c: BatchCursor): string {
    const set = c.labels(BatchLabels.metric);
    if (!this.sameKeys(set)) this.sortKeys(c, set);
    const order = this.order;
    let n = this.copy(c.buf, c.starts[BatchField.metricName] as number, c.ends[BatchField.metricName] as number, 0);
    for (let j = 0; j < set.size && n >= 0; j++) {
      const i = order[j] as number;
      const k = set.keys[i] as number;
      n = this.copy(c.buf, c.keyStarts[k] as number, c.keyEnds[k] as number, n);
      if (n >= 0) n = this.copy(c.buf, set.starts[i] as number, set.ends[i] as number, n);
    }
    return n >= 0 ? this.scratch.latin1Slice(0, n) : decodedKey(c);
  }

  /** Whether `set` has the dictionary keys, in the same order, of the set `order` was made for. */
  private sameKeys(set: LabelSet): boolean {
    const keys = this.orderKeys;
    if (keys.length !== set.size) return false;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== set.keys[i]) return false;
    return true;
  }

  /** `order`: the pairs of `set` in key order (code units, as `seriesKey` sorts). */
  private sortKeys(c: BatchCursor, set: LabelSet): void {
    const { order, orderKeys, keyTexts } = this;
    order.length = orderKeys.length = set.size;
    let sorted = true;
    let previous = '';
    for (let i = 0; i < set.size; i++) {
      const k = set.keys[i] as number;
      const text = (keyTexts[k] ??= c.keyText(k));
      if (i > 0 && text < previous) sorted = false;
      previous = text;
      order[i] = i;
      orderKeys[i] = k;
    }
    // Equal to byte order for the ASCII keys that `of` builds from bytes.
    if (!sorted) order.sort((a, b) => ((keyTexts[set.keys[a] as number] as string) < (keyTexts[set.keys[b] as number] as string) ? -1 : 1));
  }

  /** Appends bytes `start..end` of `src` and a NUL at `at`; -1 if one is not ASCII or is NUL. */
  private copy(src: Buffer, start: number, end: number, at: number): number {
    if (at + end - start + 1 > this.scratch.length) this.grow(at + end - start + 1, at);
    const dst = this.scratch;
    let n = at;
    for (let j = start; j < end; j++) {
      const b = src[j] as number;
      if (b === 0 || b > 0x7f) return -1;
      dst[n++] = b;
    }
    dst[n++] = 0;
    return n;
  }

  private grow(need: number, keep: number): void {
    const next = Buffer.allocUnsafe(Math.max(need, this.scratch.length * 2)) as Latin1;
    this.scratch.copy(next, 0, 0, keep);
    this.scratch = next;
  }
}

/** The key from the decoded name and labels. */
function decodedKey(c: BatchCursor): string {
  const set = c.labels(BatchLabels.metric);
  const labels: Labels = {};
  for (let i = 0; i < set.size; i++) labels[c.keyText(set.keys[i] as number)] = c.valueText(set, i);
  return seriesKey(c.text(BatchField.metricName), labels);
}
