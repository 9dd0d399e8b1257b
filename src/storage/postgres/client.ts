/** Small helpers over node-postgres shared by the PostgreSQL storage modules. */
import pg from 'pg';

/** Anything the storage functions can run queries on: a pool (preferred) or one client. */
export type PgDatabase = pg.Pool | pg.ClientBase;

/**
 * Runs `fn` on one connection: checks one out of a pool (and returns it), or uses the client
 * given. Functions that open transactions need this: a pool's `query` may hop connections.
 */
export async function withPgClient<T>(db: PgDatabase, fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  if (!(db instanceof pg.Pool)) return fn(db);
  const client = await db.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

/** BEGIN … COMMIT, rolled back on any error (which is rethrown). The client must be idle. */
export async function inTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The SQLSTATE of a PostgreSQL error, if it is one. */
export function sqlState(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)) return err.code;
  return undefined;
}

export const SQLSTATE = {
  duplicateTable: '42P07',
  uniqueViolation: '23505',
  lockNotAvailable: '55P03',
  insufficientPrivilege: '42501',
} as const;

export const quoteIdent = pg.escapeIdentifier;
export const quoteLiteral = pg.escapeLiteral;
