/*
 * Prometheus name rules (https://prometheus.io/docs/concepts/data_model/#metric-names-and-labels):
 * metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* (colons are
 * reserved for recording rules in metric names and are not allowed in label names at all).
 * One charset is often assumed for both; we follow the data model so that the output stays
 * ingestible by Prometheus-compatible stores.
 */

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const isPrometheusLabelName = (name: string): boolean => LABEL_NAME.test(name);

function sanitize(name: string, valid: RegExp, invalidChar: RegExp): string {
  if (valid.test(name) || name === '') return name;
  const replaced = name.replace(invalidChar, '_');
  return /^[0-9]/.test(replaced) ? `_${replaced}` : replaced;
}

/** `http.server.duration` → `http_server_duration`; `5xx_rate` → `_5xx_rate`. */
export const sanitizeMetricName = (name: string): string => sanitize(name, METRIC_NAME, /[^a-zA-Z0-9_:]/g);

/** `http.route` → `http_route`; `le:bucket` → `le_bucket`. */
export const sanitizeLabelName = (name: string): string => sanitize(name, LABEL_NAME, /[^a-zA-Z0-9_]/g);
