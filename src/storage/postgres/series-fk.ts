/**
 * The series foreign key (seed §1.2) is decided when metrics_points/metrics_histogram are created:
 * `series_foreign_key` cannot add or drop it later without rewriting or re-validating large tables.
 * The runner reports a mismatch instead of acting on it (docs/storage.md says how to change it).
 */
import type pg from 'pg';

export async function foreignKeyWarnings(client: pg.ClientBase, wanted: boolean): Promise<string[]> {
  const { rows } = await client.query<{ table_name: string; fk: string | null }>(`
    SELECT t.table_name,
           (SELECT con.conname FROM pg_constraint con
             WHERE con.conrelid = to_regclass(t.table_name) AND con.contype = 'f'
               AND con.confrelid = to_regclass('metric_series')
             LIMIT 1) AS fk
      FROM (VALUES ('metrics_points'), ('metrics_histogram')) AS t(table_name)
     WHERE to_regclass(t.table_name) IS NOT NULL`);
  const warnings: string[] = [];
  for (const row of rows) {
    if (wanted && row.fk === null) {
      warnings.push(`${row.table_name} was created without the series foreign key; series_foreign_key=true only applies to new tables`);
    } else if (!wanted && row.fk !== null) {
      warnings.push(
        `${row.table_name} has the series foreign key ${row.fk}; series_foreign_key=false only applies to new tables (ALTER TABLE ${row.table_name} DROP CONSTRAINT ${row.fk} removes it)`,
      );
    }
  }
  return warnings;
}
