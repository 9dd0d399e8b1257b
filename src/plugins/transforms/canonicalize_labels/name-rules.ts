import type { CanonicalizeLabelsConfig } from './config.js';
import { sanitizeLabelName } from './prometheus-names.js';
import { compileLinearRegex, type LinearRegex } from '../_shared/linear-regex.js';

/** The fate of one input label name: its final name (null: removed) and whether its value is lower-cased. */
export interface NameRule {
  name: string | null;
  lowerValue: boolean;
}

/**
 * Label names are few and repeat in every event, so the whole name pipeline runs once per
 * distinct name and is cached. The cache is bounded: a flood of distinct names (the label
 * explosion this plugin guards against) only costs recomputing.
 */
const CACHE_LIMIT = 10_000;

/** A selector's pattern; validate.ts reported every pattern that does not compile before a component is built. */
function linearRegex(source: string): LinearRegex {
  const compiled = compileLinearRegex(source);
  if (!compiled.ok) throw new Error(compiled.message);
  return compiled.test;
}

/**
 * The name pipeline, in the documented order: trim, `key_case`, `rename`, Prometheus sanitizing
 * (metrics only), then `drop` and `keep` on the resulting name; `lowercase_values` is looked up
 * by the resulting name too.
 */
export class NameRules {
  private readonly cache = new Map<string, NameRule>();
  private readonly rename: Map<string, string>;
  private readonly dropExact: Set<string>;
  private readonly dropPatterns: LinearRegex[];
  private readonly keepExact: Set<string> | undefined;
  private readonly keepPatterns: LinearRegex[];
  private readonly lowerValues: Set<string>;
  private readonly trim: boolean;
  private readonly lowerKeys: boolean;

  constructor(
    config: CanonicalizeLabelsConfig,
    private readonly sanitize: boolean,
  ) {
    const exact = (list: CanonicalizeLabelsConfig['drop']) => new Set(list.filter((s): s is string => typeof s === 'string'));
    const patterns = (list: CanonicalizeLabelsConfig['drop']) => list.flatMap((s) => (typeof s === 'string' ? [] : [linearRegex(s.regex)]));
    this.rename = new Map(Object.entries(config.rename));
    this.dropExact = exact(config.drop);
    this.dropPatterns = patterns(config.drop);
    this.keepExact = config.keep ? exact(config.keep) : undefined;
    this.keepPatterns = config.keep ? patterns(config.keep) : [];
    this.lowerValues = new Set(config.lowercase_values);
    this.trim = config.trim;
    this.lowerKeys = config.key_case === 'lower';
  }

  get(key: string): NameRule {
    let rule = this.cache.get(key);
    if (rule === undefined) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      rule = this.compute(key);
      this.cache.set(key, rule);
    }
    return rule;
  }

  private compute(key: string): NameRule {
    let name = this.trim ? key.trim() : key;
    if (this.lowerKeys) name = name.toLowerCase();
    name = this.rename.get(name) ?? name;
    if (this.sanitize) name = sanitizeLabelName(name);
    const dropped =
      name === '' ||
      this.dropExact.has(name) ||
      this.dropPatterns.some((test) => test(name)) ||
      (this.keepExact !== undefined && !this.keepExact.has(name) && !this.keepPatterns.some((test) => test(name)));
    return { name: dropped ? null : name, lowerValue: this.lowerValues.has(name) };
  }
}
