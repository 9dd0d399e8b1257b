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

/**
 * On a cluster the history is one replica set spanning every node (the replica name joins the
 * shard and replica macros), so whichever node a later run connects to knows what was applied.
 */
export function createHistorySql(database: string, cluster?: string): string {
  const db = plainIdentifier(database);
  const on = cluster === undefined ? '' : ` ON CLUSTER ${plainIdentifier(cluster)}`;
  const engine =
    cluster === undefined
      ? 'ReplacingMergeTree(applied_at)'
      : `ReplicatedReplacingMergeTree('/clickhouse/tables/all/${db}/schema_migrations', '{shard}-{replica}', applied_at)`;
  return `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations${on} (
    version    String,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
  ) ENGINE = ${engine} ORDER BY version`;
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
