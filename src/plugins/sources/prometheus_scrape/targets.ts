import { canonicalLabels, type Labels } from '../../../index.js';
import type { PrometheusScrapeConfig } from './config.js';

/** One thing to scrape: the URL, and the labels every series from it gets. */
export interface ScrapeTarget {
  /** Identity across `file_sd` reloads: the URL and the labels. */
  readonly key: string;
  readonly url: string;
  /** `job`, `instance` and the static / discovered labels, sorted; never a `__`-prefixed one. */
  readonly labels: Labels;
}

/** A target group as Prometheus' file SD reads it. */
export interface TargetGroup {
  targets: string[];
  labels: Labels;
}

function finish(url: URL, labels: Labels): ScrapeTarget {
  const visible: Labels = {};
  // Labels starting with "__" are meta labels (Prometheus drops them after relabelling).
  for (const [k, v] of Object.entries(labels)) if (!k.startsWith('__') && v !== '') visible[k] = v;
  const sorted = canonicalLabels(visible);
  const href = url.toString();
  return { key: `${href}\u0000${JSON.stringify(sorted)}`, url: href, labels: sorted };
}

function addParams(url: URL, params: PrometheusScrapeConfig['params'], overrides: Labels): void {
  const merged = new Map<string, string[]>();
  for (const [k, v] of Object.entries(params)) merged.set(k, Array.isArray(v) ? v : [v]);
  for (const [k, v] of Object.entries(overrides)) if (k.startsWith('__param_')) merged.set(k.slice('__param_'.length), [v]);
  for (const [k, values] of merged) {
    url.searchParams.delete(k);
    for (const v of values) url.searchParams.append(k, v);
  }
}

/** The static `endpoints`. Throws on a URL that is not http(s) (the plugin's `validate` reports it first). */
export function staticTargets(config: PrometheusScrapeConfig, job: string): ScrapeTarget[] {
  return config.endpoints.map((entry) => {
    const { url: text, labels } = typeof entry === 'string' ? { url: entry, labels: {} } : entry;
    const url = new URL(text);
    addParams(url, config.params, {});
    return finish(url, { job, instance: url.host, ...config.labels, ...labels });
  });
}

/**
 * The target of one `host:port` of a file-SD group, as Prometheus builds it: `__scheme__`,
 * `__metrics_path__` and `__param_<name>` labels override the configuration; `instance` defaults
 * to the address. Returns an error message for an address that is not `host[:port]`.
 */
export function discoveredTarget(config: PrometheusScrapeConfig, job: string, address: string, groupLabels: Labels): ScrapeTarget | string {
  if (address === '' || /[/\s?#@]/.test(address)) return `"${address}" is not a host:port target address`;
  const scheme = groupLabels.__scheme__ ?? config.scheme;
  if (scheme !== 'http' && scheme !== 'https') return `__scheme__ "${scheme}" of "${address}" must be http or https`;
  const path = groupLabels.__metrics_path__ ?? config.metrics_path;
  let url: URL;
  try {
    url = new URL(`${scheme}://${address}${path.startsWith('/') ? '' : '/'}${path}`);
  } catch {
    return `"${address}" with path "${path}" does not make a valid URL`;
  }
  addParams(url, config.params, groupLabels);
  return finish(url, { job, ...config.labels, ...groupLabels, instance: groupLabels.instance ?? address });
}

/** Problems with the static endpoints, for the plugin's pure `validate`. */
export function endpointProblems(config: PrometheusScrapeConfig): Array<{ index: number; message: string }> {
  const out: Array<{ index: number; message: string }> = [];
  config.endpoints.forEach((entry, index) => {
    const text = typeof entry === 'string' ? entry : entry.url;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      out.push({ index, message: `"${text}" is not a URL: write e.g. "http://127.0.0.1:9100/metrics"` });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') out.push({ index, message: `"${text}" must be an http:// or https:// URL` });
  });
  return out;
}
