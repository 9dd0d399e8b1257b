import type { PrometheusScrapeConfig } from './config.js';
import type { ExpositionFormat } from './parser.js';

/**
 * The `Accept` header Prometheus 2.x sends by default (scrape/scrape.go `acceptHeader` over
 * `DefaultScrapeProtocols`, q decreasing from 0.5): OpenMetrics 1.0.0 first, then OpenMetrics
 * 0.0.1, then the text format 0.0.4. We leave out Prometheus 3's `text/plain;version=1.0.0` and
 * the protobuf format, which we do not parse (UTF-8 metric names, native histograms).
 */
export const ACCEPT_HEADER =
  'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

/**
 * The parser for a response's `Content-Type`, as Prometheus' `textparse.New` picks it:
 * `application/openmetrics-text` → OpenMetrics, `text/plain` → the text format; anything else
 * (or nothing) → `fallback_format`, or undefined when that is "fail".
 */
export function formatOf(contentType: string | undefined, fallback: PrometheusScrapeConfig['fallback_format']): ExpositionFormat | undefined {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (media === 'application/openmetrics-text') return 'openmetrics_text';
  if (media === 'text/plain') return 'prometheus_text';
  return fallback === 'fail' ? undefined : fallback;
}
