/**
 * schema_migrations on PostgreSQL: one row per applied numbered file (version `0003`) and per
 * repeatable step (version `R__policies`, upserted whenever it is re-applied).
 */
import type pg from 'pg';

export interface AppliedMigration {
  readonly version: string;
  readonly name: string;
  readonly checksum: string;
}

export const CREATE_HISTORY_SQL = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`;

export async function readHistory(client: pg.ClientBase): Promise<Map<string, AppliedMigration>> {
  const { rows: exists } = await client.query<{ present: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  if (exists[0]?.present !== true) return new Map();
  const { rows } = await client.query<AppliedMigration>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
  return new Map(rows.map((row) => [row.version, row]));
}

export async function recordMigration(client: pg.ClientBase, entry: AppliedMigration): Promise<void> {
  await client.query(
    `INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)
     ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum, applied_at = now()`,
    [entry.version, entry.name, entry.checksum],
  );
}
