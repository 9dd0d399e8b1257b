/**
 * `migratePostgres`: applies migrations/pg to a database (docs/storage.md#running-migrations).
 * Each numbered file runs in its own transaction together with its schema_migrations row, so a
 * failed file leaves nothing behind. A session advisory lock serialises agents that start at once:
 * the second waits, then finds nothing left to do. Repeatable steps (retention policies) run when
 * their rendered text changes; on the plain flavour, partition maintenance runs last.
 */
import type pg from 'pg';
import { MigrationFailedError, StorageError, messageOf } from '../errors.js';
import { type StorageLogger, silentLogger } from '../logger.js';
import { type MigrationFiles, type RepeatableFile, type VersionedFile, filesForFlavour, loadMigrationFiles, packagedMigrationsDir, sha256 } from '../migrate/files.js';
import { pgInterval, trustedSql } from '../migrate/sql-fragment.js';
import { type TemplateValues, renderTemplate } from '../migrate/template.js';
import type { MigrateOptions, MigrateResult, MigrationStep, PgFlavour } from '../migrate/types.js';
import { type MigrationParams, resolveMigrationParams } from '../params.js';
import { type PgDatabase, inTransaction, sqlState, withPgClient } from './client.js';
import { chooseFlavour } from './flavour.js';
import { type AppliedMigration, CREATE_HISTORY_SQL, readHistory, recordMigration } from './history.js';
import { maintainPlainFlavour } from './maintenance.js';
import { foreignKeyWarnings } from './series-fk.js';

export const PG_FLAVOURS: readonly PgFlavour[] = ['timescaledb', 'plain'];

/** Session advisory lock key for migrations (an arbitrary constant: "tc" + "migrate"). */
const MIGRATE_LOCK_KEY = '127971052093797';

export interface PgMigrateOptions extends MigrateOptions {
  /** `auto` (default) detects TimescaleDB; forcing `plain` is useful on a TimescaleDB server too. */
  readonly flavour?: 'auto' | PgFlavour;
  /** The current time for partition maintenance; tests pass a fixed one. */
  readonly now?: Date;
}

/** Placeholder values of the PostgreSQL templates, from the validated parameters. */
export function pgTemplateValues(params: MigrationParams): TemplateValues {
  return {
    series_id_references: trustedSql(params.series_foreign_key ? 'REFERENCES metric_series (series_id)' : ''),
    points_compress_after: pgInterval(params.pg_points_compress_after_days, 'day'),
    points_retention: pgInterval(params.pg_points_retention_days, 'day'),
    events_retention: pgInterval(params.pg_events_retention_days, 'day'),
    metrics_1m_retention: pgInterval(params.pg_metrics_1m_retention_days, 'day'),
    cagg_start_offset: pgInterval(params.pg_cagg_start_offset_minutes, 'minute'),
    cagg_end_offset: pgInterval(params.pg_cagg_end_offset_minutes, 'minute'),
    cagg_schedule_interval: pgInterval(params.pg_cagg_schedule_interval_minutes, 'minute'),
  };
}

interface PendingStep extends MigrationStep {
  readonly checksum: string;
}

export async function migratePostgres(db: PgDatabase, options: PgMigrateOptions = {}): Promise<MigrateResult> {
  const params = resolveMigrationParams(options.params ?? {});
  const files = await loadMigrationFiles(options.dir ?? packagedMigrationsDir('pg'), PG_FLAVOURS);
  const dryRun = options.dryRun === true;
  return withPgClient(db, async (client) => {
    if (!dryRun) await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    try {
      return await migrateLocked(client, files, params, options);
    } finally {
      if (!dryRun) await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => undefined);
    }
  });
}

async function migrateLocked(client: pg.ClientBase, files: MigrationFiles, params: MigrationParams, options: PgMigrateOptions): Promise<MigrateResult> {
  const logger = options.logger ?? silentLogger;
  const dryRun = options.dryRun === true;
  const history = await readHistory(client);
  const { flavour, reason, warnings: flavourWarnings } = await chooseFlavour(client, options.flavour ?? 'auto');
  checkRecordedFlavour(history, flavour);
  const selected = filesForFlavour(files, flavour);
  const warnings = [...flavourWarnings, ...checkChecksums(history, selected.versioned, files)];
  const values = pgTemplateValues(params);
  const pending = [...pendingVersioned(history, selected.versioned, values), ...pendingRepeatable(history, selected.repeatable, values)];
  logger.info({ flavour, reason, pending: pending.length, dry_run: dryRun }, 'postgres migration plan');

  if (!dryRun) {
    await client.query(CREATE_HISTORY_SQL);
    for (const step of pending) await applyStep(client, step, logger);
  }
  const maintenance = flavour === 'plain' ? await maintainPlainFlavour(client, { params, dryRun, ...(options.now ? { now: options.now } : {}) }) : [];
  warnings.push(...(await foreignKeyWarnings(client, params.series_foreign_key)));
  for (const warning of warnings) logger.warn({ flavour }, warning);
  const steps = [...pending.map(({ checksum: _checksum, ...step }) => step), ...maintenance];
  return { target: 'postgres', dryRun, flavour, steps, warnings };
}

/** A database migrated with one flavour's files must not receive the other's. */
function checkRecordedFlavour(history: ReadonlyMap<string, AppliedMigration>, flavour: PgFlavour): void {
  for (const applied of history.values()) {
    const other = PG_FLAVOURS.find((f) => f !== flavour && applied.name.endsWith(`.${f}.sql`));
    if (other !== undefined) {
      throw new StorageError('TC_PG_FLAVOUR_MISMATCH', `database was migrated with the ${other} flavour (${applied.name}) but ${flavour} was chosen`);
    }
  }
}

function checkChecksums(history: ReadonlyMap<string, AppliedMigration>, versioned: readonly VersionedFile[], all: MigrationFiles): string[] {
  const edited = versioned.filter((f) => {
    const applied = history.get(f.id);
    return applied !== undefined && applied.checksum !== f.checksum;
  });
  if (edited.length > 0) {
    throw new StorageError(
      'TC_MIGRATION_CHECKSUM_MISMATCH',
      `applied migrations changed on disk since they ran: ${edited.map((f) => f.name).join(', ')} (in ${all.dir})`,
    );
  }
  const known = new Set([...all.versioned.map((f) => f.id), ...all.repeatable.map((f) => f.id)]);
  return [...history.values()]
    .filter((applied) => !known.has(applied.version))
    .map((applied) => `schema_migrations lists ${applied.name}, which this agent does not ship (applied by a newer version?)`);
}

function pendingVersioned(history: ReadonlyMap<string, AppliedMigration>, files: readonly VersionedFile[], values: TemplateValues): PendingStep[] {
  return files
    .filter((f) => !history.has(f.id))
    .map((f) => ({ kind: 'migration', id: f.id, name: f.name, sql: renderTemplate(f.name, f.template, values), checksum: f.checksum }));
}

/** A repeatable step is due when its rendered text (hence its parameters) differs from the last run. */
function pendingRepeatable(history: ReadonlyMap<string, AppliedMigration>, files: readonly RepeatableFile[], values: TemplateValues): PendingStep[] {
  const steps: PendingStep[] = [];
  for (const f of files) {
    const sql = renderTemplate(f.name, f.template, values);
    const checksum = sha256(sql);
    if (history.get(f.id)?.checksum !== checksum) steps.push({ kind: 'repeatable', id: f.id, name: f.name, sql, checksum });
  }
  return steps;
}

async function applyStep(client: pg.ClientBase, step: PendingStep, logger: StorageLogger): Promise<void> {
  const started = Date.now();
  try {
    await inTransaction(client, async () => {
      await client.query(step.sql);
      await recordMigration(client, { version: step.id, name: step.name, checksum: step.checksum });
    });
  } catch (err) {
    throw new MigrationFailedError('postgres', describeFailure(step, err), err);
  }
  logger.info({ migration: step.name, duration_ms: Date.now() - started }, 'applied postgres migration');
}

function describeFailure(step: PendingStep, err: unknown) {
  const position = err instanceof Error && 'position' in err && typeof err.position === 'string' ? Number(err.position) : NaN;
  const line = Number.isFinite(position) ? step.sql.slice(0, position - 1).split('\n').length : undefined;
  const serverCode = sqlState(err);
  return {
    file: step.name,
    serverMessage: messageOf(err),
    ...(line === undefined ? {} : { line }),
    ...(serverCode === undefined ? {} : { serverCode }),
  };
}
