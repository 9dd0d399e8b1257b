import { defineSink, errorMessage, type PluginIssue } from '../../../index.js';
import { PostgresConnection } from './api.js';
import { validatePostgresUrl } from '../../../storage/index.js';
import { postgresSinkConfig } from './config.js';
import { PG_SINK_ERRORS } from './errors.js';
import { paramIssues } from './params.js';
import { PostgresSink } from './sink.js';

/**
 * The hot tier: metric points, histograms and business events into PostgreSQL or
 * TimescaleDB with binary COPY, through a cached `metric_series` lookup, exactly once thanks to the
 * `thermocline_batches` ledger. Publishes a `PostgresHandle` (handle.ts) for the rollup exporter.
 */
export default defineSink({
  type: 'postgres',
  provides: [PostgresConnection],
  summary: 'Writes metrics, histograms and business events into PostgreSQL or TimescaleDB with COPY, exactly once.',
  errors: PG_SINK_ERRORS,
  config: postgresSinkConfig,
  example: { url: 'embedded' },
  // bench/postgres-sink.ts measured 50k-point deliveries no faster than 20k, and a delivery that
  // fails is redone whole; 1 s keeps the hot tier about a second behind.
  batch: { max_events: 20_000, timeout_secs: 1 },
  validate(config) {
    const issues: PluginIssue[] = [];
    try {
      validatePostgresUrl(config.url);
    } catch (err) {
      issues.push({ path: ['url'], message: errorMessage(err) });
    }
    for (const [key, ms] of [
      ['maintenance_interval', config.maintenance_interval],
      ['ledger_retention', config.ledger_retention],
      ['connect_timeout', config.connect_timeout],
    ] as const) {
      if (ms < 1000) issues.push({ path: [key], message: 'must be at least 1s' });
    }
    issues.push(...paramIssues(config));
    return issues;
  },
  create(config, ctx) {
    const sink = new PostgresSink(config, ctx);
    ctx.provide(PostgresConnection, sink.handle());
    return sink;
  },
});
