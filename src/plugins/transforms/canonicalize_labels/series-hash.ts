import type { Labels } from '../../../index.js';

/*
 * The identity of a series for the cardinality guard: a 53-bit hash of its canonical label set,
 * from two 32-bit lanes (a murmur3 round and an FNV-1a step per two UTF-16 code units).
 *
 * Why 53 bits: a hash collision makes a new series look known, and the guard then lets it
 * through. Under a sustained explosion (say 100,000 new series a second against a metric holding
 * 10,000) a 30-bit hash would leak about one series a second into `metric_series`; 53 bits make
 * that about one every hundred days. The cost is a heap number per tracked series (about 42 bytes per
 * entry in a V8 Set, measured) instead of an inline small integer.
 *
 * A label contributes the hash of its NAME (one step, precomputed per name: the rewriter knows the
 * final names of a layout in advance) and then its value, so the guard hashes little more than
 * the label values. `hashLabels` computes the same function from a finished label map.
 */

const END = 0x7fff_0002;

/** The per-name contribution; compute once per distinct name. */
export function nameHash(name: string): number {
  let h = 0x2f6b1d3a;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return fmix(h ^ name.length);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A running series hash. One instance per rewriter: no allocation per event. */
export class SeriesHasher {
  private a = 0;
  private b = 0;

  reset(): void {
    this.a = 0x9747b28c;
    this.b = 0x811c9dc5;
  }

  /** Fold in one label, by its precomputed name hash. Labels must come in canonical order. */
  label(nameH: number, value: string): void {
    let a = this.a;
    let b = this.b;
    const len = value.length;
    const pairs = len >> 1;
    const odd = len & 1;
    // Steps: the name hash, the value two code units at a time, its odd last unit, the length.
    const steps = 2 + pairs + odd;
    for (let s = 0; s < steps; s++) {
      let k: number;
      if (s === 0) k = nameH;
      else if (s <= pairs) k = value.charCodeAt(2 * s - 2) | (value.charCodeAt(2 * s - 1) << 16);
      else if (odd === 1 && s === pairs + 1) k = value.charCodeAt(len - 1);
      else k = END ^ len;
      // murmur3 round (lane a)
      let m = Math.imul(k, 0xcc9e2d51);
      m = (m << 15) | (m >>> 17);
      a ^= Math.imul(m, 0x1b873593);
      a = (a << 13) | (a >>> 19);
      a = (Math.imul(a, 5) + 0xe6546b64) | 0;
      // FNV-1a step (lane b)
      b = Math.imul(b ^ k, 0x01000193);
    }
    this.a = a;
    this.b = b;
  }

  /** The 53-bit series hash: a non-negative safe integer. */
  finish(): number {
    return (fmix(this.a) >>> 0) * 0x200000 + (fmix(this.b) >>> 11);
  }
}

const shared = new SeriesHasher();

/** The series hash of a finished, canonical label map. */
export function hashLabels(labels: Labels): number {
  shared.reset();
  for (const k in labels) shared.label(nameHash(k), labels[k] as string);
  return shared.finish();
}
