import type { Labels } from '../../../index.js';
import type { CanonicalizeLabelsConfig } from './config.js';
import { LayoutCache, type Layout } from './layouts.js';
import { NameRules, type NameRule } from './name-rules.js';
import { nameHash, SeriesHasher } from './series-hash.js';
import { truncateUtf8 } from './utf8.js';

/** What the rewriter did that operators should see; flushed to counters once per batch. */
export interface RewriteCounts {
  truncated: number;
  collisions: number;
}

/**
 * Rewrites one kind of label map (metric labels, log labels or span attributes) into canonical
 * form: names and values cleaned per the config, keys in sorted code-unit order (the order of
 * `canonicalLabels` in core/events.ts, used for `metric_series.labels`, the ClickHouse `labels`
 * column and the series cache). A map that is already canonical is returned as is, unallocated.
 */
export class LabelRewriter {
  private readonly layouts: LayoutCache;
  /** Scratch arrays reused across calls: a rewrite allocates at most the output object. */
  private readonly keys: string[] = [];
  private readonly values: string[] = [];
  private readonly add: Array<[string, string]>;
  private readonly addHashes: number[];
  private readonly addOverwrite: boolean;
  private readonly trim: boolean;
  private readonly dropEmpty: boolean;
  private readonly maxBytes: number | undefined;

  /**
   * With `hashing`, each rewrite also leaves the series hash of the result in `seriesHash`
   * (series-hash.ts), computed while the values pass by anyway: the cardinality guard needs it.
   */
  seriesHash = 0;
  private readonly hasher = new SeriesHasher();

  constructor(
    config: CanonicalizeLabelsConfig,
    sanitize: boolean,
    private readonly counts: RewriteCounts,
    private readonly hashing = false,
  ) {
    this.layouts = new LayoutCache(new NameRules(config, sanitize), hashing);
    this.add = Object.entries(config.add).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.addHashes = this.add.map(([k]) => nameHash(k));
    this.addOverwrite = config.add_mode === 'overwrite';
    this.trim = config.trim;
    this.dropEmpty = config.drop_empty_values;
    this.maxBytes = config.max_label_value_bytes;
  }

  /** The canonical form of `labels`: the same object when nothing changes, else a new one. */
  rewrite(labels: Labels): Labels {
    const { keys, values } = this;
    let n = 0;
    for (const key in labels) {
      keys[n] = key;
      values[n] = labels[key] as string;
      n++;
    }
    const layout = this.layouts.find(keys, n);
    if (layout.identity && this.unchanged(layout, labels, n)) return labels;
    return this.build(layout);
  }

  /** For an identity layout: whether no value changes and `add` has nothing to add. */
  private unchanged(layout: Layout, labels: Labels, n: number): boolean {
    const values = this.values;
    const rules = layout.rules;
    for (let i = 0; i < n; i++) {
      const v = values[i] as string;
      if (this.value(v, rules[i] as NameRule, false) !== v) return false;
    }
    for (const [k, v] of this.add) {
      const have = labels[k];
      if (typeof have !== 'string' || (this.addOverwrite && have !== v)) return false;
    }
    if (this.hashing) {
      const hasher = this.hasher;
      hasher.reset();
      for (let i = 0; i < n; i++) hasher.label(layout.nameHashes[i] as number, values[i] as string);
      this.seriesHash = hasher.finish();
    }
    return true;
  }

  private build(layout: Layout): Labels {
    const { order, rules, nameHashes } = layout;
    const { values, add, addHashes, hashing, hasher } = this;
    const out: Labels = {};
    if (hashing) hasher.reset();
    let ai = 0;
    let last: string | undefined;
    for (let o = 0; o < order.length; o++) {
      const i = order[o] as number;
      const rule = rules[i] as NameRule;
      const value = this.value(values[i] as string, rule, true);
      if (value === null) continue;
      const name = rule.name as string;
      if (name === last) {
        this.counts.collisions++;
        continue;
      }
      last = name;
      // `add` is sorted too: merge it in so the output is built in key order in one pass.
      for (; ai < add.length && (add[ai] as [string, string])[0] < name; ai++) {
        const [k, v] = add[ai] as [string, string];
        setLabel(out, k, v);
        if (hashing) hasher.label(addHashes[ai] as number, v);
      }
      let v = value;
      const a = add[ai];
      if (a !== undefined && a[0] === name) {
        if (this.addOverwrite) v = a[1];
        ai++;
      }
      if (name === '__proto__') setLabel(out, name, v);
      else out[name] = v; // the hot store, kept inline
      if (hashing) hasher.label(nameHashes[i] as number, v);
    }
    for (; ai < add.length; ai++) {
      const [k, v] = add[ai] as [string, string];
      setLabel(out, k, v);
      if (hashing) hasher.label(addHashes[ai] as number, v);
    }
    if (hashing) this.seriesHash = hasher.finish();
    return out;
  }

  /** The cleaned value, or null when the label goes (empty). Truncations are counted when `count`. */
  private value(v: string, rule: NameRule, count: boolean): string | null {
    let out = this.trim ? v.trim() : v;
    if (rule.lowerValue) out = out.toLowerCase();
    if (out === '' && this.dropEmpty) return null;
    if (this.maxBytes !== undefined) {
      const cut = truncateUtf8(out, this.maxBytes);
      if (cut !== out && count) this.counts.truncated++;
      out = cut;
    }
    return out;
  }
}

/** `out[k] = v`, except that a label literally named `__proto__` must not set the prototype. */
export function setLabel(out: Labels, k: string, v: string): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  else out[k] = v;
}
