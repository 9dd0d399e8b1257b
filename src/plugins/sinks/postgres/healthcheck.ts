import pg from 'pg';
import { ThermoclineError } from '../../../index.js';
import { migratePostgres, type MigrationParams, type PgFlavour } from '../../../storage/index.js';
import { PG_SINK_ERRORS } from './errors.js';

/** What a delivery and the sink's maintenance do to each table (a health check mimics a real write). */
const NEEDS: ReadonlyArray<readonly [table: string, privileges: readonly string[]]> = [
  ['metric_series', ['SELECT', 'INSERT']],
  ['metrics_points', ['INSERT']],
  ['metrics_histogram', ['INSERT']],
  ['events_generic', ['INSERT']],
  ['thermocline_batches', ['SELECT', 'INSERT', 'DELETE']],
  // Read to check that the migrations were applied (at start with migrate = false, and here).
  ['schema_migrations', ['SELECT']],
];
/** Plain PostgreSQL: maintenance deletes metrics_1m rows past retention (TimescaleDB: a policy). */
const PLAIN_NEEDS: typeof NEEDS = [['metrics_1m', ['SELECT', 'DELETE']]];

const CHECK_SQL = `
SELECT t.name,
       current_user AS role,
       to_regclass(t.name) IS NOT NULL AS present,
       CASE WHEN to_regclass(t.name) IS NULL THEN '{}'::text[]
            ELSE ARRAY(SELECT p FROM unnest(t.privileges) AS p WHERE NOT has_table_privilege(t.name, p)) END AS missing,
       CASE WHEN to_regclass(t.name) IS NULL THEN true
            ELSE pg_has_role((SELECT relowner FROM pg_class WHERE oid = to_regclass(t.name)), 'USAGE') END AS owns
  FROM jsonb_to_recordset($1::jsonb) AS t(name text, privileges text[])`;

const SEQUENCE_SQL = `
SELECT has_sequence_privilege(pg_get_serial_sequence('metric_series', 'series_id'), 'USAGE') AS ok
 WHERE to_regclass('metric_series') IS NOT NULL`;

/**
 * The sink's health check: the connection works, the migrations are applied, and the
 * role may do what deliveries and maintenance do: insert into every target table and the ledger,
 * read and insert series (and use their sequence), prune its ledger rows, and on plain PostgreSQL
 * create and drop partitions, which requires owning the partitioned tables.
 */
export async function checkHealth(pool: pg.Pool, flavour: PgFlavour, params: Readonly<MigrationParams>): Promise<void> {
  const needs = flavour === 'plain' ? [...NEEDS, ...PLAIN_NEEDS] : NEEDS;
  const param = JSON.stringify(needs.map(([name, privileges]) => ({ name, privileges })));
  const { rows } = await pool.query<{ name: string; role: string; present: boolean; missing: string[]; owns: boolean }>(CHECK_SQL, [param]);
  const absent = rows.filter((r) => !r.present).map((r) => r.name);
  const pending = (await migratePostgres(pool, { params, dryRun: true })).steps.filter((s) => s.kind === 'migration');
  if (absent.length > 0 || pending.length > 0) {
    const what = absent.length > 0 ? `tables ${absent.join(', ')} do not exist` : `migrations ${pending.map((s) => s.name).join(', ')} are not applied`;
    throw new ThermoclineError(PG_SINK_ERRORS.TC_PG_SINK_NOT_MIGRATED, `${what}: run \`thermocline migrate --pg <url>\` or set migrate = true`);
  }
  const role = pg.escapeIdentifier(rows[0]?.role ?? 'thermocline');
  const grants = rows.filter((r) => r.missing.length > 0).map((r) => `GRANT ${r.missing.join(', ')} ON ${r.name} TO ${role}`);
  const sequence = (await pool.query<{ ok: boolean }>(SEQUENCE_SQL)).rows[0];
  if (sequence?.ok === false) grants.push(`GRANT USAGE ON SEQUENCE metric_series_series_id_seq TO ${role}`);
  if (grants.length > 0) {
    throw new ThermoclineError(PG_SINK_ERRORS.TC_PG_SINK_PRIVILEGE, `the role lacks privileges the sink needs; as the tables' owner run: ${grants.join('; ')}`);
  }
  if (flavour === 'plain') {
    const notOwned = rows.filter((r) => ['metrics_points', 'metrics_histogram', 'events_generic'].includes(r.name) && !r.owns).map((r) => r.name);
    if (notOwned.length > 0) {
      throw new ThermoclineError(
        PG_SINK_ERRORS.TC_PG_SINK_PRIVILEGE,
        `the role does not own ${notOwned.join(', ')}, so it cannot create or drop their daily partitions: ALTER TABLE … OWNER TO the sink's role, or GRANT the owner role to it`,
      );
    }
  }
}
