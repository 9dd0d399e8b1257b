/**
 * Which PostgreSQL flavour a database gets (docs/storage.md#postgresql-two-flavours): TimescaleDB
 * when the extension can be used, plain PostgreSQL with native partitions otherwise. The choice
 * sticks: a database migrated plain stays plain even if TimescaleDB becomes available later, since
 * its tables are not hypertables.
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
  /** False when the facts did not settle it and a default was taken: a configured flavour wins. */
  readonly certain: boolean;
}

export interface ServerFacts {
  /** pg_extension: the extension exists in this database. */
  installed: boolean;
  /** pg_available_extensions: the server has its files. */
  available: boolean;
  /** null when the role may not read shared_preload_libraries (managed services). */
  preloaded: boolean | null;
  /**
   * The guarded probe: whether TimescaleDB's loader registered its settings in this session,
   * which it does only when preloaded. Read from pg_settings, which every role may read; null
   * when that read failed. Never `CREATE EXTENSION` to find out: without the preload the server
   * answers it with FATAL and ends the session.
   */
  loaderActive: boolean | null;
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
  const preloaded = await readPreloaded(client);
  const loaderActive = facts.available && preloaded === null ? await readLoaderActive(client) : null;
  return { installed: facts.installed, available: facts.available, preloaded, loaderActive, migratedPlain };
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

/**
 * TimescaleDB's loader defines `timescaledb.max_background_workers` as an integer setting when it
 * is preloaded. A value set in postgresql.conf without the preload is only a placeholder, of
 * type string, so the type tells the two apart.
 */
async function readLoaderActive(client: pg.ClientBase): Promise<boolean | null> {
  try {
    const { rows } = await client.query<{ active: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.max_background_workers' AND vartype = 'integer') AS active`,
    );
    return rows[0]?.active ?? null;
  } catch (err) {
    if (sqlState(err) === undefined) throw err; // the connection failed: not an answer
    return null;
  }
}

/** The decision, from facts alone (no I/O). */
export function decideFlavour(facts: ServerFacts): FlavourProbe {
  const known = (flavour: PgFlavour, reason: string, warnings: string[] = []): FlavourProbe => ({ flavour, reason, warnings, certain: true });
  if (facts.installed) return known('timescaledb', 'the timescaledb extension is installed');
  if (facts.migratedPlain) {
    return known(
      'plain',
      'this database was migrated with the plain flavour',
      facts.available ? ['timescaledb is available, but this database was migrated plain and stays plain'] : [],
    );
  }
  if (!facts.available) return known('plain', 'the timescaledb extension is not available');
  if (facts.preloaded === true) return known('timescaledb', 'the timescaledb extension is available (pg_available_extensions) and preloaded');
  if (facts.preloaded === false) {
    return known('plain', 'timescaledb is available but not in shared_preload_libraries', [
      'timescaledb is installed on the server but not preloaded: add it to shared_preload_libraries and restart to use it',
    ]);
  }
  if (facts.loaderActive === true) return known('timescaledb', 'the timescaledb extension is available and its loader is active (pg_settings)');
  return {
    flavour: 'plain',
    reason: "cannot tell whether timescaledb is preloaded (this role may not read shared_preload_libraries, and the loader's settings are absent)",
    warnings: [
      'cannot tell whether timescaledb is preloaded: using plain PostgreSQL; if it is preloaded, grant pg_read_all_settings to this role (or migrate with flavour timescaledb) to use it',
    ],
    certain: false,
  };
}

export async function probeFlavour(db: PgDatabase): Promise<FlavourProbe> {
  return decideFlavour(await withPgClient(db, readFacts));
}

/** `'timescaledb'` when the extension is installed or installable here, else `'plain'`. */
export async function detectFlavour(db: PgDatabase): Promise<PgFlavour> {
  return (await probeFlavour(db)).flavour;
}

/** Applies an explicit flavour request on top of detection. */
export async function chooseFlavour(db: PgDatabase, requested: 'auto' | PgFlavour): Promise<FlavourProbe> {
  const probe = await probeFlavour(db);
  if (requested === 'auto' || requested === probe.flavour) return probe;
  if (requested === 'timescaledb' && !probe.certain) {
    return { flavour: 'timescaledb', reason: `flavour timescaledb requested (${probe.reason})`, warnings: [], certain: false };
  }
  if (requested === 'timescaledb') {
    throw new StorageError('TC_PG_FLAVOUR_UNAVAILABLE', `flavour timescaledb requested, but ${probe.reason}`);
  }
  return { flavour: 'plain', reason: 'flavour plain requested', warnings: probe.warnings, certain: true };
}
