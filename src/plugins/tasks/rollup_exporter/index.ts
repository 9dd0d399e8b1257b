import { ClickHouseConnection, COMPONENT_ID, defineTask, errorMessage, type PluginIssue, PostgresConnection } from '../../../index.js';
import { parseClickHouseUrl, validatePostgresUrl } from '../../../storage/index.js';
import { caggExporterConfig, isConnectionUrl } from './config.js';
import { CAGG_ERRORS } from './errors.js';
import { createExporterTask } from './task.js';

/**
 * Keeps ClickHouse `metrics_1m` equal to PostgreSQL's, late data included (README.md):
 * a watermark, a re-export window and versioned rows in a ReplacingMergeTree.
 */
export default defineTask({
  type: 'rollup_exporter',
  formerly: [{ kind: 'sink', type: 'cagg_exporter' }],
  summary: 'Copies the 1-minute rollup metrics_1m from PostgreSQL to ClickHouse every minute, re-exporting buckets that late points changed.',
  errors: CAGG_ERRORS,
  config: caggExporterConfig,
  example: { postgres: 'embedded', clickhouse: 'chdb://clickhouse' },
  uses: (config) => [
    ...(isConnectionUrl(config.postgres) ? [] : [{ key: PostgresConnection, from: config.postgres }]),
    ...(isConnectionUrl(config.clickhouse) ? [] : [{ key: ClickHouseConnection, from: config.clickhouse }]),
  ],
  validate(config) {
    const issues: PluginIssue[] = [];
    const check = (key: 'postgres' | 'clickhouse', validateUrl: (url: string) => void) => {
      const value = config[key];
      if (!isConnectionUrl(value)) {
        if (!COMPONENT_ID.test(value)) issues.push({ path: [key], message: `"${value}" is neither a URL nor the id of a ${key} sink` });
        return;
      }
      try {
        validateUrl(value);
      } catch (err) {
        issues.push({ path: [key], message: errorMessage(err) });
      }
    };
    check('postgres', validatePostgresUrl);
    // No I/O: the data_dir only resolves a relative chdb directory.
    check('clickhouse', (url) => parseClickHouseUrl(url, '/'));
    if (config.interval < 1000) issues.push({ path: ['interval'], message: 'must be at least 1s' });
    return issues;
  },
  create: (config, ctx) => createExporterTask(config, ctx),
});
