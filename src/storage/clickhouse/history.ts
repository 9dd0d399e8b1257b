/**
 * schema_migrations on ClickHouse. No transactions and no locks here: two agents migrating at once
 * may both record a version, so the table is a ReplacingMergeTree keyed by version and is read with
 * FINAL. Repeatable steps (TTLs) are recorded under `R__ttl_<table>` with the checksum of the
 * statement that set them.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { plainIdentifier } from '../migrate/sql-fragment.js';

export interface AppliedMigration {
  readonly version: string;
  readonly name: string;
  readonly checksum: string;
}

export function createHistorySql(database: string): string {
  return `CREATE TABLE IF NOT EXISTS ${plainIdentifier(database)}.schema_migrations (
    version    String,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
  ) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`;
}

export async function readHistory(client: ClickHouseClient, database: string): Promise<Map<string, AppliedMigration>> {
  const db = plainIdentifier(database);
  const exists = await client.query({
    query: `SELECT count() AS n FROM system.tables WHERE database = '${db}' AND name = 'schema_migrations'`,
    format: 'JSONEachRow',
  });
  const [row] = await exists.json<{ n: string | number }>();
  if (Number(row?.n ?? 0) === 0) return new Map();
  const rs = await client.query({ query: `SELECT version, name, checksum FROM ${db}.schema_migrations FINAL ORDER BY version`, format: 'JSONEachRow' });
  return new Map((await rs.json<AppliedMigration>()).map((r) => [r.version, r]));
}

export async function recordMigration(client: ClickHouseClient, database: string, entry: AppliedMigration): Promise<void> {
  await client.insert({
    table: `${plainIdentifier(database)}.schema_migrations`,
    values: [{ version: entry.version, name: entry.name, checksum: entry.checksum }],
    format: 'JSONEachRow',
  });
}
