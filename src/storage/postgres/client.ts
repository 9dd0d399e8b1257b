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
  const client = await checkOut(db);
  let broken: unknown;
  try {
    return await fn(client);
  } catch (err) {
    broken = err;
    throw err;
  } finally {
    // After a failure the connection may be dead (a FATAL, a reset): never hand it back.
    client.release(broken !== undefined ? (broken instanceof Error ? broken : true) : undefined);
  }
}

/**
 * A client checked out of `pool`, with an 'error' listener for as long as it is out. The pool
 * listens on idle clients only; a checked-out client whose server ends the session (a FATAL
 * such as an extension that must be preloaded, an administrator's pg_terminate_backend, a reset
 * connection) emits 'error', and an 'error' event nobody listens to ends the process. The query
 * in flight, or the next one, reports the failure to its caller.
 */
export async function checkOut(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  const ignore = () => undefined;
  client.on('error', ignore);
  const release = client.release.bind(client);
  client.release = (err?: Error | boolean) => {
    client.removeListener('error', ignore);
    release(err);
  };
  return client;
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
