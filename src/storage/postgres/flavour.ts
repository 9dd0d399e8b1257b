/**
 * Which PostgreSQL flavour a database gets (DESIGN §5): TimescaleDB when the extension can be used,
 * plain PostgreSQL with native partitions otherwise. The choice sticks: a database migrated plain
 * stays plain even if TimescaleDB becomes available later, since its tables are not hypertables.
 */
import type pg from 'pg';
import { StorageError } from '../errors.js';
import type { PgFlavour } from '../migrate/types.js';
import { type PgDatabase, SQLSTATE, sqlState, withPgClient } from './client.js';

export interface FlavourProbe {
  readonly flavour: PgFlavour;
  /** Why this flavour, in words, for the migrate report. */
  readonly reason: string;
  readonly warnings: readonly string[];
}

interface ServerFacts {
  installed: boolean;
  available: boolean;
  /** null when the role may not read shared_preload_libraries (managed services). */
  preloaded: boolean | null;
  migratedPlain: boolean;
}

async function readFacts(client: pg.ClientBase): Promise<ServerFacts> {
  const { rows } = await client.query<{ installed: boolean; available: boolean; migrated: boolean }>(`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed,
           EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
           to_regclass('schema_migrations') IS NOT NULL AS migrated`);
  const facts = rows[0] ?? { installed: false, available: false, migrated: false };
  let migratedPlain = false;
  if (facts.migrated) {
    const r = await client.query(`SELECT 1 FROM schema_migrations WHERE name LIKE '%.plain.sql' LIMIT 1`);
    migratedPlain = (r.rowCount ?? 0) > 0;
  }
  return { installed: facts.installed, available: facts.available, preloaded: await readPreloaded(client), migratedPlain };
}

/** shared_preload_libraries is superuser-only on some servers: unknown is not "no". */
async function readPreloaded(client: pg.ClientBase): Promise<boolean | null> {
  try {
    const { rows } = await client.query<{ libs: string }>(`SELECT current_setting('shared_preload_libraries') AS libs`);
    return /(^|[\s,'"])timescaledb([\s,'"]|$)/.test(rows[0]?.libs ?? '');
  } catch (err) {
    if (sqlState(err) === SQLSTATE.insufficientPrivilege) return null;
    throw err;
  }
}

export async function probeFlavour(db: PgDatabase): Promise<FlavourProbe> {
  const facts = await withPgClient(db, readFacts);
  if (facts.installed) return { flavour: 'timescaledb', reason: 'the timescaledb extension is installed', warnings: [] };
  if (facts.migratedPlain) {
    const warnings = facts.available ? ['timescaledb is available, but this database was migrated plain and stays plain'] : [];
    return { flavour: 'plain', reason: 'this database was migrated with the plain flavour', warnings };
  }
  if (facts.available && facts.preloaded !== false) {
    return { flavour: 'timescaledb', reason: 'the timescaledb extension is available (pg_available_extensions)', warnings: [] };
  }
  if (facts.available) {
    return {
      flavour: 'plain',
      reason: 'timescaledb is available but not in shared_preload_libraries',
      warnings: ['timescaledb is installed on the server but not preloaded: add it to shared_preload_libraries and restart to use it'],
    };
  }
  return { flavour: 'plain', reason: 'the timescaledb extension is not available', warnings: [] };
}

/** `'timescaledb'` when the extension is installed or installable here, else `'plain'`. */
export async function detectFlavour(db: PgDatabase): Promise<PgFlavour> {
  return (await probeFlavour(db)).flavour;
}

/** Applies an explicit flavour request on top of detection. */
export async function chooseFlavour(db: PgDatabase, requested: 'auto' | PgFlavour): Promise<FlavourProbe> {
  const probe = await probeFlavour(db);
  if (requested === 'auto' || requested === probe.flavour) return probe;
  if (requested === 'timescaledb') {
    throw new StorageError('TC_PG_FLAVOUR_UNAVAILABLE', `flavour timescaledb requested, but ${probe.reason}`);
  }
  return { flavour: 'plain', reason: 'flavour plain requested', warnings: probe.warnings };
}
