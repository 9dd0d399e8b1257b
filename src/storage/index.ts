/**
 * The storage layer's public surface: migrations for PostgreSQL/TimescaleDB and
 * ClickHouse, connection strings for servers and embedded engines, plain-flavour partition
 * maintenance, and the `thermocline migrate` command.
 */
export { STORAGE_ERRORS, StorageError, MigrationFailedError, isStorageError } from './errors.js';
export type { StorageErrorCode, MigrationFailure } from './errors.js';
export type { StorageLogger, LogMethod } from './logger.js';
export { silentLogger } from './logger.js';
export { redactUrl } from './redact.js';
export { DEFAULT_MIGRATION_PARAMS, migrationParamsSchema, resolveMigrationParams } from './params.js';
export type { MigrationParams } from './params.js';
export type { MigrateOptions, MigrateResult, MigrationStep, PgFlavour } from './migrate/types.js';
export { runMigrateCommand } from './migrate/command.js';
export type { MigrateCommandOptions, MigrateCommandResult } from './migrate/command.js';
export { formatMigrateResult } from './migrate/report.js';

export type { PgDatabase } from './postgres/client.js';
export { quoteIdent, quoteLiteral } from './postgres/client.js';
export { connectPostgres, isEmbeddedPostgresUrl, validatePostgresUrl } from './postgres/connect.js';
export type { ConnectPostgresOptions, PostgresConnection } from './postgres/connect.js';
export { detectFlavour, probeFlavour } from './postgres/flavour.js';
export type { FlavourProbe } from './postgres/flavour.js';
export { migratePostgres } from './postgres/migrate.js';
export type { PgMigrateOptions } from './postgres/migrate.js';
export { PARTITIONED_TABLES, dropPartitionsOlderThan, ensurePartitions, listPartitions, partitionName } from './postgres/partitions.js';
export type { PartitionInfo, PartitionOptions, PartitionedTable } from './postgres/partitions.js';
export { maintainPlainFlavour } from './postgres/maintenance.js';
export type { PlainMaintenanceOptions } from './postgres/maintenance.js';
export { metrics1mRefreshWindow, refreshMetrics1m } from './postgres/rollup.js';

export { connectClickHouse, parseClickHouseUrl } from './clickhouse/connect.js';
export { activeChdbPath } from './clickhouse/chdb.js';
export type { ClickHouseConnection, ClickHouseTarget, ConnectClickHouseOptions } from './clickhouse/connect.js';
export { migrateClickHouse } from './clickhouse/migrate.js';
export type { ChMigrateOptions } from './clickhouse/migrate.js';
export { chooseStoragePolicy } from './clickhouse/storage-policy.js';
export type { StoragePolicyChoice } from './clickhouse/storage-policy.js';
export { TIERED_POLICY, TTL_TABLES, renderTtl } from './clickhouse/ttl.js';
export { clusterStatements, localTable } from './clickhouse/cluster.js';
