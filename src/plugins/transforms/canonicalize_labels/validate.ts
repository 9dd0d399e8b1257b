import { compileLinearRegex } from '../_shared/linear-regex.js';
import type { PluginIssue } from '../../../index.js';
import { parseOnLimit } from './canonicalizer.js';
import type { CanonicalizeLabelsConfig } from './config.js';
import { isPrometheusLabelName } from './prometheus-names.js';

/** Checks the schema cannot express, each with its key path (reported at load, before anything starts). */
export function validateConfig(config: CanonicalizeLabelsConfig): PluginIssue[] {
  const issues: PluginIssue[] = [];
  for (const list of ['drop', 'keep'] as const) {
    (config[list] ?? []).forEach((sel, i) => {
      if (typeof sel === 'string') return;
      const compiled = compileLinearRegex(sel.regex);
      if (!compiled.ok) issues.push({ path: [list, i, 'regex'], message: compiled.message });
    });
  }
  const policy = parseOnLimit(config.on_limit);
  if (config.max_series_per_metric > 0) {
    // drop_label admits up to twice the limit for one metric (the overflow allowance).
    const perMetric = config.max_series_per_metric * (policy.action === 'drop_label' ? 2 : 1);
    if (config.max_tracked_series < perMetric) {
      issues.push({
        path: ['max_tracked_series'],
        message: `must be at least ${perMetric} (max_series_per_metric${policy.action === 'drop_label' ? ' × 2 for drop_label' : ''}) so that one metric's series fit`,
      });
    }
  }
  if (config.sanitize_names === 'prometheus' && config.applies_to.includes('metric')) {
    for (const key of Object.keys(config.add)) {
      if (!isPrometheusLabelName(key))
        issues.push({ path: ['add', key], message: `"${key}" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), and added labels are not sanitized` });
    }
  }
  return issues;
}
