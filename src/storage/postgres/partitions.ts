/**
 * Daily range partitions for the plain flavour, maintained by the agent
 * (docs/storage.md#plain-flavour-partitions-and-rollups). Partitions are named `<table>_pYYYYMMDD`
 * and cover one UTC day; partitions with other names are never touched.
 *
 * Pass a pool (or an idle client): each partition is created or dropped in its own short
 * transaction with a lock timeout, because CREATE/DROP of a partition locks the parent table
 * and must not queue behind a long COPY forever.
 */
import type pg from 'pg';
import { StorageError } from '../errors.js';
import { type PgDatabase, SQLSTATE, inTransaction, quoteIdent, quoteLiteral, sqlState, withPgClient } from './client.js';

export const PARTITIONED_TABLES = ['metrics_points', 'metrics_histogram', 'events_generic'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

export interface PartitionInfo {
  readonly schema: string;
  readonly name: string;
  /** Inclusive lower bound (00:00 UTC of the day). */
  readonly from: Date;
  /** Exclusive upper bound (00:00 UTC of the next day). */
  readonly to: Date;
}

export interface PartitionOptions {
  /** How long to wait for the parent table's lock before giving up (TC_PG_PARTITION_LOCK_TIMEOUT). */
  readonly lockTimeoutMs?: number;
}

const DAY_MS = 86_400_000;
const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export function startOfUtcDay(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}

export function addDays(at: Date, days: number): Date {
  return new Date(at.getTime() + days * DAY_MS);
}

export function partitionName(table: PartitionedTable, day: Date): string {
  return `${table}_p${startOfUtcDay(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

function dayOfPartitionName(table: string, name: string): Date | undefined {
  const m = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(name);
  if (m === null) return undefined;
  const day = new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00.000Z`);
  return Number.isNaN(day.getTime()) ? undefined : day;
}

function checkTable(table: string): asserts table is PartitionedTable {
  if (!(PARTITIONED_TABLES as readonly string[]).includes(table)) {
    throw new StorageError('TC_PG_PARTITION_ARGS_INVALID', `not a partitioned table: ${JSON.stringify(table)} (expected ${PARTITIONED_TABLES.join(', ')})`);
  }
}

function checkDate(value: unknown, what: string): asserts value is Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new StorageError('TC_PG_PARTITION_ARGS_INVALID', `${what} must be a valid Date`);
  }
}

/** The agent's partitions of `table`, oldest first; empty when the table does not exist. */
export async function listPartitions(db: PgDatabase, table: PartitionedTable): Promise<PartitionInfo[]> {
  checkTable(table);
  const { rows } = await db.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = to_regclass($1)`,
    [table],
  );
  const partitions: PartitionInfo[] = [];
  for (const row of rows) {
    const from = dayOfPartitionName(table, row.name);
    if (from !== undefined) partitions.push({ schema: row.schema, name: row.name, from, to: addDays(from, 1) });
  }
  return partitions.sort((a, b) => a.from.getTime() - b.from.getTime());
}

/** The schema of a partitioned parent; throws when the table is missing or not partitioned. */
async function parentSchema(client: pg.ClientBase, table: PartitionedTable): Promise<string> {
  const { rows } = await client.query<{ schema: string; kind: string }>(
    `SELECT n.nspname AS schema, c.relkind::text AS kind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1)`,
    [table],
  );
  const row = rows[0];
  if (row === undefined || row.kind !== 'p') {
    const what = row === undefined ? 'does not exist (run migrations first)' : 'is not partitioned (TimescaleDB flavour?)';
    throw new StorageError('TC_PG_PARTITION_ARGS_INVALID', `table ${table} ${what}`);
  }
  return row.schema;
}

export function createPartitionSql(schema: string, table: PartitionedTable, day: Date): string {
  const from = startOfUtcDay(day);
  return (
    `CREATE TABLE ${quoteIdent(schema)}.${quoteIdent(partitionName(table, from))} PARTITION OF ${quoteIdent(schema)}.${quoteIdent(table)} ` +
    `FOR VALUES FROM (${quoteLiteral(from.toISOString())}) TO (${quoteLiteral(addDays(from, 1).toISOString())})`
  );
}

export function dropPartitionSql(partition: Pick<PartitionInfo, 'schema' | 'name'>): string {
  return `DROP TABLE IF EXISTS ${quoteIdent(partition.schema)}.${quoteIdent(partition.name)}`;
}

/** Every UTC day from the day of `from` through the day of `to`. */
export function utcDays(from: Date, to: Date): Date[] {
  const days: Date[] = [];
  for (let day = startOfUtcDay(from); day.getTime() <= to.getTime(); day = addDays(day, 1)) days.push(day);
  return days;
}

async function runLocked(client: pg.ClientBase, sql: string, table: string, lockTimeoutMs: number): Promise<void> {
  try {
    await inTransaction(client, async () => {
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.trunc(lockTimeoutMs))}`);
      await client.query(sql);
    });
  } catch (err) {
    if (sqlState(err) === SQLSTATE.lockNotAvailable) {
      throw new StorageError('TC_PG_PARTITION_LOCK_TIMEOUT', `timed out after ${lockTimeoutMs} ms waiting for the lock on ${table}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Creates the missing daily partitions of `table` for every UTC day from `from` to `to`
 * (inclusive). Idempotent, and safe when agents race: a partition another session created first
 * (duplicate_table, or unique_violation on the catalog) counts as present.
 * @returns the names of the partitions this call created.
 */
export async function ensurePartitions(
  db: PgDatabase,
  args: { readonly table: PartitionedTable; readonly from: Date; readonly to: Date } & PartitionOptions,
): Promise<string[]> {
  checkTable(args.table);
  checkDate(args.from, 'from');
  checkDate(args.to, 'to');
  if (args.from.getTime() > args.to.getTime()) throw new StorageError('TC_PG_PARTITION_ARGS_INVALID', 'from must not be after to');
  const existing = new Set((await listPartitions(db, args.table)).map((p) => p.name));
  const missing = utcDays(args.from, args.to).filter((day) => !existing.has(partitionName(args.table, day)));
  if (missing.length === 0) return [];
  return withPgClient(db, async (client) => {
    const schema = await parentSchema(client, args.table);
    const created: string[] = [];
    for (const day of missing) {
      try {
        await runLocked(client, createPartitionSql(schema, args.table, day), args.table, args.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
        created.push(partitionName(args.table, day));
      } catch (err) {
        const state = sqlState(err);
        if (state !== SQLSTATE.duplicateTable && state !== SQLSTATE.uniqueViolation) throw err;
      }
    }
    return created;
  });
}

/**
 * Drops the partitions of `table` that hold only rows older than `cutoff` (upper bound <= cutoff).
 * @returns the names of the partitions dropped.
 */
export async function dropPartitionsOlderThan(
  db: PgDatabase,
  table: PartitionedTable,
  cutoff: Date,
  options: PartitionOptions = {},
): Promise<string[]> {
  checkTable(table);
  checkDate(cutoff, 'cutoff');
  const expired = (await listPartitions(db, table)).filter((p) => p.to.getTime() <= cutoff.getTime());
  if (expired.length === 0) return [];
  return withPgClient(db, async (client) => {
    for (const partition of expired) {
      await runLocked(client, dropPartitionSql(partition), table, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
    }
    return expired.map((p) => p.name);
  });
}
