/**
 * The `schema_registry` table (migrations/pg/0009_schema_registry.sql): registration, reads and
 * the change notification every gateway on the database listens to.
 *
 * Registering takes a transaction-scoped advisory lock per event type, then reads the latest
 * version, checks compatibility against it and inserts the next version. Two gateways registering
 * the same type at once are therefore serialised: the second sees the first's version and is
 * checked against it (a conflicting schema is refused as incompatible). The primary key
 * `(type, major, minor)` is the last guard: a writer that bypassed the lock gets
 * `TC_SCHEMA_CONFLICT` instead of a silent overwrite.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { type CompiledSchema, compileSchema, versionString } from './compile.js';
import { describeIncompatibility, incompatibilities } from './compatibility.js';
import { SchemaError } from './errors.js';

/** The LISTEN/NOTIFY channel; the payload is `{"type": ..., "version": ...}`. */
export const REGISTRY_CHANNEL = 'thermocline_schema_registry';

/** Anything queries run on: a pool or a checked-out client. */
export interface Queryable {
  query: pg.ClientBase['query'];
}

export interface StoredSchema {
  readonly type: string;
  readonly major: number;
  readonly minor: number;
  readonly version: string;
  readonly schema: Record<string, unknown>;
  readonly fingerprint: string;
  readonly registeredAt: string;
  readonly registeredBy: string;
}

export interface RegisterOptions {
  /** Make a new major version when the schema is not compatible with the latest. */
  readonly force?: boolean;
  /** Who registers (a host name, `cli`, a config file): recorded for `schemas list`. */
  readonly by?: string;
}

export interface RegisterResult {
  readonly stored: StoredSchema;
  /** The same schema was already the latest version: nothing was written. */
  readonly unchanged: boolean;
  /** Set when `force` made a new major version: the incompatibilities it overrode. */
  readonly forced: readonly string[];
}

/** JSON with object keys sorted, so equal schemas have equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export const fingerprintOf = (schema: unknown): string => createHash('sha256').update(canonicalJson(schema)).digest('hex');

interface Row {
  type: string;
  major: number;
  minor: number;
  schema: Record<string, unknown>;
  fingerprint: string;
  registered_at: Date;
  registered_by: string;
}

const COLUMNS = 'type, major, minor, schema, fingerprint, registered_at, registered_by';

function fromRow(r: Row): StoredSchema {
  return {
    type: r.type,
    major: r.major,
    minor: r.minor,
    version: versionString(r),
    schema: r.schema,
    fingerprint: r.fingerprint,
    registeredAt: r.registered_at.toISOString(),
    registeredBy: r.registered_by,
  };
}

/**
 * Registers `schema` as the next version of `type`. Checked and compiled first (an invalid schema
 * never reaches the table). `client` must be a dedicated connection: this runs a transaction.
 */
export async function registerSchema(client: pg.ClientBase, type: string, schema: unknown, options: RegisterOptions = {}): Promise<RegisterResult> {
  compileSchema(type, { major: 1, minor: 0 }, schema);
  const fingerprint = fingerprintOf(schema);
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('thermocline.schema_registry:' || $1, 0))", [type]);
    const latest = await latestOf(client, type);
    let major = 1;
    let minor = 0;
    let forced: string[] = [];
    if (latest !== undefined) {
      if (latest.fingerprint === fingerprint) {
        await client.query('ROLLBACK');
        return { stored: latest, unchanged: true, forced: [] };
      }
      const problems = incompatibilities(latest.schema, schema as Record<string, unknown>).map(describeIncompatibility);
      if (problems.length > 0 && options.force !== true) {
        throw new SchemaError('TC_SCHEMA_INCOMPATIBLE', `the schema of "${type}" is not compatible with its version ${latest.version} (force makes it version ${latest.major + 1}.0)`, problems);
      }
      forced = problems;
      major = problems.length > 0 ? latest.major + 1 : latest.major;
      minor = problems.length > 0 ? 0 : latest.minor + 1;
    }
    const inserted = await client.query<Row>(
      `INSERT INTO schema_registry (type, major, minor, schema, fingerprint, registered_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [type, major, minor, JSON.stringify(schema), fingerprint, options.by ?? ''],
    );
    // Delivered to every listener when the transaction commits, never for a rolled-back one.
    await client.query('SELECT pg_notify($1, $2)', [REGISTRY_CHANNEL, JSON.stringify({ type, version: `${major}.${minor}` })]);
    await client.query('COMMIT');
    return { stored: fromRow(inserted.rows[0] as Row), unchanged: false, forced };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (err instanceof Error && 'code' in err && err.code === '23505') {
      throw new SchemaError('TC_SCHEMA_CONFLICT', `another gateway registered a version of "${type}" at the same moment; nothing was registered by this request`, [], {
        cause: err,
      });
    }
    throw err;
  }
}

async function latestOf(db: Queryable, type: string): Promise<StoredSchema | undefined> {
  const r = await db.query<Row>(`SELECT ${COLUMNS} FROM schema_registry WHERE type = $1 ORDER BY major DESC, minor DESC LIMIT 1`, [type]);
  const row = r.rows[0];
  return row === undefined ? undefined : fromRow(row);
}

/** The latest version of every type. */
export async function latestSchemas(db: Queryable): Promise<StoredSchema[]> {
  const r = await db.query<Row>(`SELECT DISTINCT ON (type) ${COLUMNS} FROM schema_registry ORDER BY type, major DESC, minor DESC`);
  return r.rows.map(fromRow);
}

/** Every version of every type (or of one), oldest first. */
export async function listSchemas(db: Queryable, type?: string): Promise<StoredSchema[]> {
  const r =
    type === undefined
      ? await db.query<Row>(`SELECT ${COLUMNS} FROM schema_registry ORDER BY type, major, minor`)
      : await db.query<Row>(`SELECT ${COLUMNS} FROM schema_registry WHERE type = $1 ORDER BY major, minor`, [type]);
  return r.rows.map(fromRow);
}

/** One version (`"1.2"`), or the latest when `version` is undefined. */
export async function getSchema(db: Queryable, type: string, version?: string): Promise<StoredSchema> {
  let found: StoredSchema | undefined;
  if (version === undefined) {
    found = await latestOf(db, type);
  } else {
    const m = /^(\d+)\.(\d+)$/.exec(version);
    if (m === null) throw new SchemaError('TC_SCHEMA_NOT_FOUND', `"${version}" is not a version: versions are written major.minor, e.g. 1.2`);
    const r = await db.query<Row>(`SELECT ${COLUMNS} FROM schema_registry WHERE type = $1 AND major = $2 AND minor = $3`, [type, Number(m[1]), Number(m[2])]);
    found = r.rows[0] === undefined ? undefined : fromRow(r.rows[0]);
  }
  if (found === undefined) throw new SchemaError('TC_SCHEMA_NOT_FOUND', `no schema is registered for "${type}"${version === undefined ? '' : ` at version ${version}`}`);
  return found;
}

/** Compiles a stored schema (already checked when it was registered). */
export function compileStored(s: Pick<StoredSchema, 'type' | 'major' | 'minor' | 'schema'>): CompiledSchema {
  return compileSchema(s.type, s, s.schema);
}
