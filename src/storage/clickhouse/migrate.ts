/**
 * `migrateClickHouse`: applies migrations/clickhouse to one database
 * (docs/storage.md#running-migrations). ClickHouse DDL is not transactional, so every statement is
 * idempotent (IF NOT EXISTS): a run that failed half-way is completed by the next one, and a file
 * is recorded only once all its statements succeeded. TTLs are repeatable steps: set after the
 * tables exist and set again whenever the retention parameters (or the table's storage policy) change.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { MigrationFailedError, StorageError, messageOf } from '../errors.js';
import { type StorageLogger, silentLogger } from '../logger.js';
import { type VersionedFile, loadMigrationFiles, packagedMigrationsDir, sha256 } from '../migrate/files.js';
import { splitStatements } from '../migrate/split.js';
import { identifierLiteral, isPlainIdentifier, plainIdentifier } from '../migrate/sql-fragment.js';
import { type TemplateValues, renderTemplate } from '../migrate/template.js';
import type { MigrateOptions, MigrateResult, MigrationStep } from '../migrate/types.js';
import { type MigrationParams, resolveMigrationParams } from '../params.js';
import { clusterDatabaseSql, clusterName, clusterStatements, localTable } from './cluster.js';
import { type AppliedMigration, createHistorySql, readHistory, recordMigration } from './history.js';
import { type StoragePolicyChoice, chooseStoragePolicy, tableStoragePolicies } from './storage-policy.js';
import { TIERED_POLICY, TTL_TABLES, renderTtlStatement } from './ttl.js';

export interface ChMigrateOptions extends MigrateOptions {
  /** The database to create and migrate (default `default`); ClickHouseConnection.database. */
  readonly database?: string;
  /** `auto` (default): hot_warm_cold when the server has it. */
  readonly storagePolicy?: StoragePolicyChoice;
  /**
   * A cluster of the server's `remote_servers`: tables are created ON CLUSTER as Replicated*MergeTree
   * `<table>_local` with Distributed tables under the usual names (cluster.ts, docs/storage.md#clusters).
   */
  readonly cluster?: string;
}

interface PendingStep extends MigrationStep {
  readonly checksum: string;
}

export function chTemplateValues(database: string, storagePolicy: 'hot_warm_cold' | 'default'): TemplateValues {
  return { database: plainIdentifier(database), storage_policy: identifierLiteral(storagePolicy) };
}

export async function migrateClickHouse(client: ClickHouseClient, options: ChMigrateOptions = {}): Promise<MigrateResult> {
  const logger = options.logger ?? silentLogger;
  const dryRun = options.dryRun === true;
  const database = options.database ?? 'default';
  if (!isPlainIdentifier(database)) throw new StorageError('TC_CH_URL_INVALID', `invalid ClickHouse database name ${JSON.stringify(database)}`);
  const cluster = options.cluster === undefined || options.cluster === '' ? undefined : clusterName(options.cluster);
  const params = resolveMigrationParams(options.params ?? {});
  const files = await loadMigrationFiles(options.dir ?? packagedMigrationsDir('clickhouse'), []);
  const storagePolicy = await chooseStoragePolicy(client, options.storagePolicy ?? 'auto');
  const history = await readHistory(client, database);
  const warnings = checkChecksums(history, files.versioned, files.dir);
  const values = chTemplateValues(database, storagePolicy);
  const migrations: PendingStep[] = files.versioned
    .filter((f) => !history.has(f.id))
    .map((f) => ({ kind: 'migration', id: f.id, name: f.name, sql: forCluster(renderTemplate(f.name, f.template, values), cluster), checksum: f.checksum }));
  logger.info({ database, storage_policy: storagePolicy, cluster, pending: migrations.length, dry_run: dryRun }, 'clickhouse migration plan');

  if (!dryRun) {
    for (const query of setupStatements(database, cluster)) await client.command({ query });
    for (const step of migrations) await applyStep(client, database, step, logger);
  }
  // After the files: the tables exist now (or, under dry-run, are planned with `storagePolicy`).
  const ttls = await pendingTtls(client, { database, params, history, storagePolicy, cluster });
  if (!dryRun) for (const step of ttls) await applyStep(client, database, step, logger);
  for (const warning of warnings) logger.warn({ database }, warning);
  const steps = [...migrations, ...ttls].map(({ checksum: _checksum, ...step }) => step);
  return { target: 'clickhouse', dryRun, database, storagePolicy, steps, warnings, ...(cluster === undefined ? {} : { cluster }) };
}

/** The database and the history table, created before any migration file runs. */
export function setupStatements(database: string, cluster: string | undefined): string[] {
  const create = cluster === undefined ? `CREATE DATABASE IF NOT EXISTS ${plainIdentifier(database)}` : clusterDatabaseSql(database, cluster);
  return [create, createHistorySql(database, cluster)];
}

/** A rendered file, rewritten statement by statement for a cluster (unchanged without one). */
function forCluster(sql: string, cluster: string | undefined): string {
  if (cluster === undefined) return sql;
  return splitStatements(sql)
    .flatMap((s) => clusterStatements(s.sql, cluster))
    .map((s) => `${s};\n`)
    .join('\n');
}

function checkChecksums(history: ReadonlyMap<string, AppliedMigration>, files: readonly VersionedFile[], dir: string): string[] {
  const edited = files.filter((f) => {
    const applied = history.get(f.id);
    return applied !== undefined && applied.checksum !== f.checksum;
  });
  if (edited.length > 0) {
    throw new StorageError(
      'TC_MIGRATION_CHECKSUM_MISMATCH',
      `applied migrations changed on disk since they ran: ${edited.map((f) => f.name).join(', ')} (in ${dir})`,
    );
  }
  const known = new Set([...files.map((f) => f.id), ...TTL_TABLES.map((t) => ttlStepId(t.table))]);
  return [...history.values()]
    .filter((applied) => !known.has(applied.version))
    .map((applied) => `schema_migrations lists ${applied.name}, which this agent does not ship (applied by a newer version?)`);
}

function ttlStepId(table: string): string {
  return `R__ttl_${table}`;
}

/**
 * A TTL is due when the statement that would set it differs from the recorded one. Volumes are
 * used only when the table itself sits on hot_warm_cold: a table created without the policy keeps
 * its delete-only TTL even after the server gains the policy (docs/storage.md explains moving it).
 */
async function pendingTtls(
  client: ClickHouseClient,
  context: { database: string; params: MigrationParams; history: ReadonlyMap<string, AppliedMigration>; storagePolicy: string; cluster: string | undefined },
): Promise<PendingStep[]> {
  const policies = await tableStoragePolicies(client, context.database);
  const steps: PendingStep[] = [];
  for (const spec of TTL_TABLES) {
    // On a cluster the data (and its TTL) is in the shard-local table.
    const table = context.cluster === undefined ? spec.table : localTable(spec.table);
    const policy = policies.get(table) ?? context.storagePolicy;
    const sql = renderTtlStatement(context.database, spec, context.params, policy === TIERED_POLICY, context.cluster);
    const checksum = sha256(sql);
    const id = ttlStepId(spec.table);
    if (context.history.get(id)?.checksum !== checksum) steps.push({ kind: 'repeatable', id, name: `ttl ${spec.table}`, sql, checksum });
  }
  return steps;
}

async function applyStep(client: ClickHouseClient, database: string, step: PendingStep, logger: StorageLogger): Promise<void> {
  const started = Date.now();
  for (const statement of splitStatements(step.sql)) {
    try {
      await client.command({ query: statement.sql });
    } catch (err) {
      const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
      throw new MigrationFailedError(
        'clickhouse',
        { file: step.name, line: statement.line, serverMessage: messageOf(err), ...(code === undefined ? {} : { serverCode: code }) },
        err,
      );
    }
  }
  await recordMigration(client, database, { version: step.id, name: step.name, checksum: step.checksum });
  logger.info({ migration: step.name, duration_ms: Date.now() - started }, 'applied clickhouse migration');
}
