import type { NameRule, NameRules } from './name-rules.js';
import { nameHash } from './series-hash.js';

/**
 * What to do with label maps whose keys arrive in one particular order (a "layout"): the rule of
 * each input key and the output order. A stream has few layouts (every event of one metric or
 * one log source carries the same keys in the same order), so computing this once per layout
 * turns rewriting an event into copying values in a known order: no name lookups, no sorting.
 */
export interface Layout {
  /** Input keys, in arrival order. */
  readonly keys: string[];
  /** The rule of each input key (same indexes as `keys`). */
  readonly rules: NameRule[];
  /**
   * Indexes of the kept input keys, by final name, then original name. Several inputs may share
   * a final name (a collision): the first whose value survives wins, so the survivor does not
   * depend on arrival order.
   */
  readonly order: number[];
  /** True when every key keeps its name and the keys are already sorted: only values may change. */
  readonly identity: boolean;
  /** The series-hash contribution of each final name (same indexes as `keys`; 0 when dropped; empty without hashing). */
  readonly nameHashes: number[];
}

/** Layouts remembered per rewriter; a miss costs one name lookup per key and a small sort. */
const MAX_LAYOUTS = 16;

export class LayoutCache {
  private readonly layouts: Layout[] = [];
  /** The layout found last: consecutive events usually share it. */
  private last: Layout | undefined;
  /** Where the next new layout goes once the cache is full (round robin: no reshuffling on hits). */
  private next = 0;

  /** `hashing`: also precompute the series-hash contribution of each name (metrics under the guard). */
  constructor(
    private readonly names: NameRules,
    private readonly hashing: boolean,
  ) {}

  /** The layout of `keys[0..n)` (a scratch array: copied when a new layout is made). */
  find(keys: readonly string[], n: number): Layout {
    const last = this.last;
    if (last !== undefined && last.keys.length === n && sameKeys(last.keys, keys, n)) return last;
    for (const layout of this.layouts) {
      if (layout.keys.length === n && sameKeys(layout.keys, keys, n)) return (this.last = layout);
    }
    const layout = this.make(keys.slice(0, n));
    if (this.layouts.length < MAX_LAYOUTS) this.layouts.push(layout);
    else {
      this.layouts[this.next] = layout;
      this.next = (this.next + 1) % MAX_LAYOUTS;
    }
    return (this.last = layout);
  }

  private make(keys: string[]): Layout {
    const rules = keys.map((k) => this.names.get(k));
    const order: number[] = [];
    for (let i = 0; i < keys.length; i++) if ((rules[i] as NameRule).name !== null) order.push(i);
    order.sort((a, b) => {
      const na = (rules[a] as NameRule).name as string;
      const nb = (rules[b] as NameRule).name as string;
      if (na !== nb) return na < nb ? -1 : 1;
      return (keys[a] as string) < (keys[b] as string) ? -1 : 1;
    });
    let identity = order.length === keys.length;
    for (let i = 0; identity && i < order.length; i++) identity = order[i] === i && (rules[i] as NameRule).name === keys[i];
    const nameHashes = this.hashing ? rules.map((r) => (r.name === null ? 0 : nameHash(r.name))) : [];
    return { keys, rules, order, identity, nameHashes };
  }
}

function sameKeys(a: readonly string[], b: readonly string[], n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
