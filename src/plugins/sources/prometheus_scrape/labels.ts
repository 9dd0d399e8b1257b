import type { Labels } from '../../../index.js';
import type { ParsedLabels } from './parser.js';

/**
 * Builds the label set of each scraped sample: the scraped labels merged with the target's labels
 * (`job`, `instance`, static labels), in canonical order (sorted by key, docs/ARCHITECTURE.md#events).
 *
 * Clashes follow Prometheus' `mutateSampleLabels`: with `honor_labels = false` the target's value
 * wins and the scraped label is renamed `exported_<name>` (prefixed again while that name is
 * taken); with `honor_labels = true` the scraped value wins. A label with an empty value is no
 * label, as in Prometheus.
 *
 * Speed (the target is >= 2M samples/s, docs/performance.md): samples of one family share their
 * label names, so the merge and sort are worked out once per list of names into a `Plan`, which
 * builds each label object from a generated object literal. Assigning computed keys one by one to
 * a fresh object measured several times slower than the rest of the parse together.
 */
interface Plan {
  /** The scraped label names this plan is for, in the order of the exposition. */
  names: string[];
  /** Builds the labels from the scraped values in that order; undefined for a repeated name. */
  make: ((values: string[]) => Labels) | undefined;
}

const MAX_PLANS = 2048;

export class LabelMerger {
  private readonly targetNames: string[];
  private readonly targetValues: string[];
  private readonly plans = new Map<string, Plan>();
  private last: Plan | undefined;
  // Reused per sample: the scraped names and values without the skipped label.
  private readonly names: string[] = [];
  private readonly values: string[] = [];

  constructor(
    targetLabels: Labels,
    private readonly honorLabels: boolean,
  ) {
    const keys = Object.keys(targetLabels)
      .filter((k) => targetLabels[k] !== '')
      .sort();
    this.targetNames = keys;
    this.targetValues = keys.map((k) => targetLabels[k] as string);
  }

  /** The target labels alone (for `up` and the other synthetic series): a fresh object. */
  targetOnly(): Labels {
    const out: Labels = {};
    for (let i = 0; i < this.targetNames.length; i++) setLabel(out, this.targetNames[i] as string, this.targetValues[i] as string);
    return out;
  }

  /**
   * The merged, sorted labels of a sample, leaving out the scraped label at index `skip` (`le` of
   * a histogram bucket) or none with -1. Undefined when the sample repeats a label name.
   */
  build(scraped: ParsedLabels, skip: number): Labels | undefined {
    const names = this.names;
    const values = this.values;
    let m = 0;
    for (let i = 0; i < scraped.count; i++) {
      if (i === skip) continue;
      const v = scraped.values[i] as string;
      if (v === '') return this.withoutEmpty(scraped, skip);
      names[m] = scraped.names[i] as string;
      values[m] = v;
      m++;
    }
    let plan = this.last;
    if (plan === undefined || !sameNames(plan.names, names, m)) {
      plan = this.plan(names.slice(0, m));
      this.last = plan;
    }
    return plan.make?.(values);
  }

  /** A label with an empty value is no label (Prometheus): rare, so it takes the slow road. */
  private withoutEmpty(scraped: ParsedLabels, skip: number): Labels | undefined {
    const names: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < scraped.count; i++) {
      if (i === skip || scraped.values[i] === '') continue;
      names.push(scraped.names[i] as string);
      values.push(scraped.values[i] as string);
    }
    return this.plan(names).make?.(values);
  }

  private plan(names: string[]): Plan {
    const key = names.join('\u0000');
    let plan = this.plans.get(key);
    if (plan === undefined) {
      if (this.plans.size >= MAX_PLANS) this.plans.clear();
      plan = { names, make: compile(this.merge(names), this.targetValues) };
      this.plans.set(key, plan);
    }
    return plan;
  }

  /**
   * Where each output label comes from, sorted by name: `[name, source]` with source `i >= 0` the
   * i-th scraped value and `-1 - t` the t-th target value. Undefined when a name repeats.
   */
  private merge(scrapedNames: readonly string[]): Array<[string, number]> | undefined {
    const out: Array<[string, number]> = scrapedNames.map((n, i) => [n, i]);
    const clashes: number[] = [];
    this.targetNames.forEach((name, t) => {
      const at = scrapedNames.indexOf(name);
      if (at >= 0) {
        if (this.honorLabels) return;
        clashes.push(at);
      }
      out.push([name, -1 - t]);
    });
    // Rename clashing scraped labels, shortest names first, as Prometheus does.
    clashes.sort((a, b) => (scrapedNames[a] as string).length - (scrapedNames[b] as string).length);
    for (const at of clashes) {
      let candidate = (out[at] as [string, number])[0];
      do candidate = `exported_${candidate}`;
      while (out.some(([n]) => n === candidate));
      (out[at] as [string, number])[0] = candidate;
    }
    out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 1; i < out.length; i++) if ((out[i - 1] as [string, number])[0] === (out[i] as [string, number])[0]) return undefined;
    return out;
  }
}

/**
 * A function returning `{ "<name>": values[i] | target[t], ... }` as one object literal. The names
 * are label names (validated by the parser, or the configuration's label-name rule) and are
 * written with JSON.stringify all the same, so nothing in them can reach the generated code.
 */
function compile(layout: Array<[string, number]> | undefined, targetValues: readonly string[]): Plan['make'] {
  if (layout === undefined) return undefined;
  if (layout.some(([name]) => name === '__proto__')) {
    // An object literal would set the prototype: build this rare shape the plain way.
    return (values) => {
      const out: Labels = {};
      for (const [name, src] of layout) setLabel(out, name, (src >= 0 ? values[src] : targetValues[-1 - src]) as string);
      return out;
    };
  }
  const fields = layout.map(([name, src]) => `${JSON.stringify(name)}: ${src >= 0 ? `v[${src}]` : `t[${-1 - src}]`}`);
  return new Function('t', `return (v) => ({ ${fields.join(', ')} });`)(targetValues) as (values: string[]) => Labels;
}

/** Whether `a` equals the first `n` entries of `b` (the work arrays keep stale entries past `n`). */
function sameNames(a: readonly string[], b: readonly string[], n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Assign a label; `__proto__` must be defined, not assigned, or it would set the prototype. */
function setLabel(out: Labels, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}
