/**
 * The health check does what a write does, without writing (a health
 * check that mimics a real write, after Vector, finds a missing grant before data does): connect
 * as the sink's user, read each mapped table's columns (the same DESCRIBE the writer uses), then
 * run an INSERT into each table that selects no rows:
 *
 *   INSERT INTO db.logs_events (timestamp, …, labels) SELECT defaultValueOfTypeName('…'), … WHERE 0
 *
 * ClickHouse checks the statement before it runs: the table and the columns exist and take these
 * types, the user holds INSERT on them, and the user is not read-only (READONLY, code 164, for
 * `readonly = 1` profiles and the like). Zero rows make no part and no deduplication entry.
 *
 * Not covered (they show up on the first write, are retried and logged): a full disk, too many
 * parts, quotas, row policies, and values that a column cannot hold.
 */
import { type InsertTarget, quote, settingsClause } from './insert.js';
import type { TableSchema } from './schema.js';
import { toSinkError } from './failures.js';
import { COLUMNS } from './tables.js';

export function probeStatement(database: string, schema: TableSchema, settings?: Readonly<Record<string, string | number>>): string {
  const columns = COLUMNS[schema.role];
  const values = columns.map((c) => `defaultValueOfTypeName(${quote(schema.types.get(c) ?? 'String')})`);
  const clause = settingsClause(settings ?? {});
  return `INSERT INTO ${database}.${schema.table} (${columns.join(', ')})${clause ? ` SETTINGS ${clause}` : ''} SELECT ${values.join(', ')} WHERE 0`;
}

export async function probeTables(target: InsertTarget, schemas: Iterable<TableSchema>, settings?: Readonly<Record<string, string | number>>): Promise<void> {
  for (const schema of schemas) {
    try {
      await target.client.command({ query: probeStatement(target.database, schema, settings) });
    } catch (err) {
      throw toSinkError(err, `health check INSERT into ${target.database}.${schema.table}`);
    }
  }
}
