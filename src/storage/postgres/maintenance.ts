/**
 * Plain-flavour upkeep, the counterpart of TimescaleDB's background jobs
 * (docs/storage.md#plain-flavour-partitions-and-rollups): daily partitions created ahead,
 * partitions past retention dropped, old metrics_1m rows deleted. `migratePostgres` runs it after
 * migrating; the postgres sink should run it about hourly so the next days' partitions always
 * exist before their rows arrive.
 */
import type { MigrationStep } from '../migrate/types.js';
import { type MigrationParams, resolveMigrationParams } from '../params.js';
import type { PgDatabase } from './client.js';
import {
  PARTITIONED_TABLES,
  type PartitionedTable,
  addDays,
  createPartitionSql,
  dropPartitionSql,
  dropPartitionsOlderThan,
  ensurePartitions,
  listPartitions,
  partitionName,
  startOfUtcDay,
  utcDays,
} from './partitions.js';

export interface PlainMaintenanceOptions {
  readonly params?: Partial<MigrationParams>;
  /** The current time; tests pass a fixed one. */
  readonly now?: Date;
  /** Report what would be done without doing it. */
  readonly dryRun?: boolean;
  readonly lockTimeoutMs?: number;
}

function retentionDays(table: PartitionedTable, params: MigrationParams): number {
  return table === 'events_generic' ? params.pg_events_retention_days : params.pg_points_retention_days;
}

/** Deletes rollups older than the cutoff; `$1` is the cutoff. */
const DELETE_OLD_ROLLUPS = 'DELETE FROM metrics_1m WHERE bucket < $1';

/**
 * Brings the plain flavour's partitions and rollup retention up to date.
 * @returns one step per partition created or dropped (and one for deleted rollups), empty when
 * nothing was (or, with dryRun, would be) done.
 */
export async function maintainPlainFlavour(db: PgDatabase, options: PlainMaintenanceOptions = {}): Promise<MigrationStep[]> {
  const params = resolveMigrationParams(options.params ?? {});
  const now = options.now ?? new Date();
  const today = startOfUtcDay(now);
  // Yesterday too: rows stamped just before midnight arrive just after it.
  const from = addDays(today, -1);
  const to = addDays(today, params.pg_partition_premake_days);
  const steps: MigrationStep[] = [];
  const lock = options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs };
  const schema = await currentSchema(db);
  const kinds = await relationKinds(db);
  for (const table of PARTITIONED_TABLES) {
    const kind = kinds.get(table);
    // Only partitioned parents; under dry-run also tables not created yet (pending migrations will).
    if (kind !== 'p' && !(options.dryRun === true && kind === undefined)) continue;
    const cutoff = new Date(now.getTime() - retentionDays(table, params) * 86_400_000);
    // Never (re)create a day that retention would drop at once.
    const firstDay = from < cutoff ? startOfUtcDay(cutoff) : from;
    if (options.dryRun === true) {
      steps.push(...(await planTable(db, { table, schema, firstDay, to, cutoff })));
      continue;
    }
    const dropped = await dropPartitionsOlderThan(db, table, cutoff, lock);
    const created = await ensurePartitions(db, { table, from: firstDay, to, ...lock });
    steps.push(...dropped.map((name) => dropStep(schema, name, cutoff)));
    steps.push(...created.map((name) => createStep(schema, table, name)));
  }
  if (kinds.get('metrics_1m') === 'r') {
    steps.push(...(await trimRollups(db, new Date(now.getTime() - params.pg_metrics_1m_retention_days * 86_400_000), options.dryRun === true)));
  }
  return steps;
}

function maintenanceStep(id: string, name: string, sql: string): MigrationStep {
  return { kind: 'maintenance', id, name, sql };
}

function dropStep(schema: string, name: string, cutoff: Date): MigrationStep {
  return maintenanceStep(name, `drop partition ${name} (older than ${cutoff.toISOString()})`, dropPartitionSql({ schema, name }));
}

function createStep(schema: string, table: PartitionedTable, name: string): MigrationStep {
  const day = partitionDay(table, name);
  return maintenanceStep(name, `create partition ${name}`, createPartitionSql(schema, table, day));
}

function partitionDay(table: PartitionedTable, name: string): Date {
  const digits = name.slice(table.length + 2);
  return new Date(`${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}T00:00:00.000Z`);
}

async function planTable(
  db: PgDatabase,
  plan: { table: PartitionedTable; schema: string; firstDay: Date; to: Date; cutoff: Date },
): Promise<MigrationStep[]> {
  const existing = await listPartitions(db, plan.table);
  const names = new Set(existing.map((p) => p.name));
  const steps = existing.filter((p) => p.to.getTime() <= plan.cutoff.getTime()).map((p) => dropStep(p.schema, p.name, plan.cutoff));
  for (const day of utcDays(plan.firstDay, plan.to)) {
    const name = partitionName(plan.table, day);
    if (!names.has(name)) steps.push(createStep(plan.schema, plan.table, name));
  }
  return steps;
}

async function relationKinds(db: PgDatabase): Promise<Map<string, string>> {
  const { rows } = await db.query<{ name: string; kind: string }>(
    `SELECT t.name, c.relkind::text AS kind
       FROM unnest($1::text[]) AS t(name) JOIN pg_class c ON c.oid = to_regclass(t.name)`,
    [[...PARTITIONED_TABLES, 'metrics_1m']],
  );
  return new Map(rows.map((r) => [r.name, r.kind]));
}

async function currentSchema(db: PgDatabase): Promise<string> {
  const { rows } = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
  return rows[0]?.schema ?? 'public';
}

/** Only for the plain flavour's ordinary table; a TimescaleDB continuous aggregate has its own policy. */
async function trimRollups(db: PgDatabase, cutoff: Date, dryRun: boolean): Promise<MigrationStep[]> {
  const sql = DELETE_OLD_ROLLUPS.replace('$1', `'${cutoff.toISOString()}'`);
  const name = `delete metrics_1m rows older than ${cutoff.toISOString()}`;
  if (dryRun) {
    const { rows: counted } = await db.query<{ n: string }>('SELECT count(*) AS n FROM metrics_1m WHERE bucket < $1', [cutoff]);
    return counted[0]?.n === '0' ? [] : [maintenanceStep('metrics_1m_retention', name, sql)];
  }
  const result = await db.query(DELETE_OLD_ROLLUPS, [cutoff]);
  return (result.rowCount ?? 0) === 0 ? [] : [maintenanceStep('metrics_1m_retention', `${name} (${result.rowCount} rows)`, sql)];
}
