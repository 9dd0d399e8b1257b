/**
 * `thermocline migrate --pg <url> --clickhouse <url> [--dry-run]`
 * (docs/storage.md#running-migrations), minus argument parsing, which src/cli.ts owns. Connects,
 * migrates PostgreSQL then ClickHouse, prints the plan or the result to stdout, and releases the
 * connections (stopping embedded engines it started).
 */
import { connectClickHouse } from '../clickhouse/connect.js';
import { migrateClickHouse } from '../clickhouse/migrate.js';
import { StorageError } from '../errors.js';
import type { StorageLogger } from '../logger.js';
import type { MigrationParams } from '../params.js';
import { connectPostgres } from '../postgres/connect.js';
import { migratePostgres } from '../postgres/migrate.js';
import { formatMigrateResult } from './report.js';
import type { MigrateResult } from './types.js';

export interface MigrateCommandOptions {
  /** PostgreSQL url: postgres://… or `embedded`. */
  readonly pg?: string;
  /** ClickHouse url: http(s)://… or chdb://<dir>. */
  readonly clickhouse?: string;
  /** A ClickHouse cluster name: Replicated + Distributed tables ON CLUSTER (docs/storage.md#clusters). */
  readonly clickhouseCluster?: string;
  readonly dryRun: boolean;
  /** The agent's data_dir (embedded engines live under it). */
  readonly dataDir: string;
  readonly logger: StorageLogger;
  readonly params?: Partial<MigrationParams>;
  /** Where the report goes; stdout by default. */
  readonly out?: { write(text: string): unknown };
}

export interface MigrateCommandResult {
  readonly postgres?: MigrateResult;
  readonly clickhouse?: MigrateResult;
}

export async function runMigrateCommand(options: MigrateCommandOptions): Promise<MigrateCommandResult> {
  if (options.pg === undefined && options.clickhouse === undefined) {
    throw new StorageError('TC_MIGRATE_NO_TARGET', 'nothing to migrate: pass --pg <url> and/or --clickhouse <url>');
  }
  const out = options.out ?? process.stdout;
  const common = { dryRun: options.dryRun, logger: options.logger, ...(options.params ? { params: options.params } : {}) };
  let postgres: MigrateResult | undefined;
  let clickhouse: MigrateResult | undefined;
  if (options.pg !== undefined) {
    const connection = await connectPostgres(options.pg, { dataDir: options.dataDir, logger: options.logger });
    try {
      postgres = await migratePostgres(connection.pool, common);
      out.write(formatMigrateResult(postgres, connection.displayUrl));
    } finally {
      await connection.release();
    }
  }
  if (options.clickhouse !== undefined) {
    const connection = await connectClickHouse(options.clickhouse, { dataDir: options.dataDir, logger: options.logger });
    try {
      clickhouse = await migrateClickHouse(connection.client, {
        ...common,
        database: connection.database,
        ...(options.clickhouseCluster === undefined ? {} : { cluster: options.clickhouseCluster }),
      });
      out.write(formatMigrateResult(clickhouse, connection.displayUrl));
    } finally {
      await connection.release();
    }
  }
  return { ...(postgres ? { postgres } : {}), ...(clickhouse ? { clickhouse } : {}) };
}
