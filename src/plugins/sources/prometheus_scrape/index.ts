import { defineSource } from '../../../index.js';
import { prometheusScrapeConfig } from './config.js';
import { PROM_SCRAPE_ERRORS } from './errors.js';
import { createSource } from './source.js';
import { validateConfig } from './validate.js';

/**
 * Scrapes Prometheus and OpenMetrics endpoints like Prometheus does: static endpoints
 * and file-SD targets, each on its own loop at a fixed phase of the interval, with `up`,
 * `scrape_duration_seconds` and `scrape_samples_scraped` written per scrape. A scrape that comes
 * due while the queue is full is skipped and counted.
 */
export default defineSource({
  type: 'prometheus_scrape',
  summary: 'Scrapes Prometheus and OpenMetrics endpoints (static or file-SD targets) like Prometheus does.',
  errors: PROM_SCRAPE_ERRORS,
  config: prometheusScrapeConfig,
  example: { endpoints: ['http://127.0.0.1:19100/metrics'], interval: '15s' },
  validate: validateConfig,
  create: createSource,
});
