/**
 * Metric families and the role of each sample name in its family. In the text format 0.0.4 a
 * counter's `# TYPE` names the sample (`http_requests_total`); in OpenMetrics it names the family
 * (`http_requests`) and the samples carry suffixes (`_total`, `_created`). Both are resolved here.
 */

/** `unknown` covers OpenMetrics' `unknown` and the text format's `untyped`. */
export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'unknown';

export interface Family {
  readonly name: string;
  readonly type: FamilyType;
}

/** Which sample of its family a line is: the suffix after the family name. */
export const Role = {
  Base: 0,
  Total: 1,
  Created: 2,
  Bucket: 3,
  Sum: 4,
  Count: 5,
  Info: 6,
  GCount: 7,
  GSum: 8,
} as const;
export type Role = (typeof Role)[keyof typeof Role];

const SUFFIXES: ReadonlyArray<readonly [string, Role]> = [
  ['_total', Role.Total],
  ['_created', Role.Created],
  ['_bucket', Role.Bucket],
  ['_sum', Role.Sum],
  ['_count', Role.Count],
  ['_info', Role.Info],
  ['_gcount', Role.GCount],
  ['_gsum', Role.GSum],
];

const bit = (...roles: Role[]) => roles.reduce<number>((m, r) => m | (1 << r), 0);

/**
 * The sample names each type may have. Lenient where the formats differ: a counter may be written
 * without `_total` (text format) or with it (OpenMetrics), an info metric with or without `_info`.
 */
const ALLOWED: Record<FamilyType, number> = {
  counter: bit(Role.Base, Role.Total, Role.Created),
  gauge: bit(Role.Base),
  unknown: bit(Role.Base),
  stateset: bit(Role.Base),
  info: bit(Role.Base, Role.Info),
  histogram: bit(Role.Bucket, Role.Sum, Role.Count, Role.Created),
  gaugehistogram: bit(Role.Bucket, Role.GCount, Role.GSum),
  summary: bit(Role.Base, Role.Sum, Role.Count, Role.Created),
};

/** The role of `name` in `family`, or undefined when the name does not belong to it. */
export function resolveRole(family: Family, name: string): Role | undefined {
  const allowed = ALLOWED[family.type];
  const base = family.name.length;
  if (name.length === base) return name === family.name && allowed & (1 << Role.Base) ? Role.Base : undefined;
  for (const [suffix, role] of SUFFIXES) {
    if (name.length === base + suffix.length && allowed & (1 << role) && name.endsWith(suffix) && name.startsWith(family.name)) return role;
  }
  return undefined;
}
