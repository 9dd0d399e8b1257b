import { parseArgs } from 'node:util';
import path from 'node:path';
import { runMigrateCommand } from '../storage/index.js';
import { createLogger } from '../core/runtime/logger.js';
import { EXIT_FAILURE, loadOrExplain, printError } from './config.js';
import type { Subcommand } from './commands.js';

/**
 * `thermocline migrate --pg <url> --clickhouse <url> [--clickhouse-cluster NAME] [--dry-run] [-c FILE]`. Embedded engines
 * (`embedded`, `chdb://dir`) live under the data_dir of the config given with -c, or ./data.
 */
export const migrateCommand: Subcommand = {
  name: 'migrate',
  usage: 'migrate [--pg URL] [--clickhouse URL] [--clickhouse-cluster NAME] [--dry-run] [-c FILE]',
  summary: 'create or upgrade the PostgreSQL and ClickHouse schemas',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        pg: { type: 'string' },
        clickhouse: { type: 'string' },
        'clickhouse-cluster': { type: 'string' },
        'dry-run': { type: 'boolean' },
        config: { type: 'string', short: 'c' },
      },
      strict: true,
    });
    let dataDir = path.resolve('data');
    if (values.config) {
      const config = await loadOrExplain(values.config);
      if (!config) return 78;
      dataDir = config.dataDir;
    }
    const logger = createLogger({ level: 'warn', destination: process.stderr });
    try {
      await runMigrateCommand({
        pg: values.pg,
        clickhouse: values.clickhouse,
        ...(values['clickhouse-cluster'] === undefined ? {} : { clickhouseCluster: values['clickhouse-cluster'] }),
        dryRun: values['dry-run'] ?? false,
        dataDir,
        logger,
      });
      return 0;
    } catch (err) {
      printError(err);
      return EXIT_FAILURE;
    }
  },
};
