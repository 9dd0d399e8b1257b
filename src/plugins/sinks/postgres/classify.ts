import { errorMessage, RetryableError, ThermoclineError } from '../../../index.js';
import { StorageError, STORAGE_ERRORS } from '../../../storage/index.js';
import { PG_SINK_ERRORS } from './errors.js';

/**
 * How a failure is handled; the runtime retries, the sink classifies (docs/plugins.md#sinks):
 * - `data`: the server rejected a value (classes 22 data exception, 23 integrity constraint, 54
 *   program limit exceeded such as an index row too large). Row-specific: the writer isolates the
 *   bad rows and writes the others.
 * - `retryable`: the server or the network is (temporarily) unable: connection exceptions (08),
 *   insufficient resources (53), operator intervention (57: shutdown, statement timeout), system
 *   errors (58), transaction rollback (40: serialization failure, deadlock), lock timeouts, bad
 *   credentials or a missing database (28, 3D000: an operator fixes them and delivery resumes).
 * - `schema`: a missing table or column, a permission denied (42). Also kept queued: the data
 *   is fine, the database is not ready for it.
 * - `other`: anything else; the runtime retries it a few times, then dead-letters the batch.
 */
export type FailureClass = 'data' | 'retryable' | 'schema' | 'other';

const RETRYABLE_CLASSES = new Set(['08', '28', '40', '53', '57', '58']);
const RETRYABLE_CODES = new Set(['55P03', '55006', '3D000']);
const DATA_CLASSES = new Set(['22', '23', '54']);
const RETRYABLE_STORAGE = new Set<string>([STORAGE_ERRORS.TC_PG_UNREACHABLE, STORAGE_ERRORS.TC_PG_PARTITION_LOCK_TIMEOUT, STORAGE_ERRORS.TC_PG_EMBEDDED_START_FAILED]);
/** Storage failures that a migration (or the right flavour) fixes. */
const SCHEMA_STORAGE = new Set<string>([
  STORAGE_ERRORS.TC_MIGRATION_FAILED,
  STORAGE_ERRORS.TC_MIGRATION_CHECKSUM_MISMATCH,
  STORAGE_ERRORS.TC_MIGRATION_FILES_INVALID,
  STORAGE_ERRORS.TC_MIGRATION_PARAMS_INVALID,
  STORAGE_ERRORS.TC_PG_FLAVOUR_UNAVAILABLE,
  STORAGE_ERRORS.TC_PG_FLAVOUR_MISMATCH,
]);
/** Errors node-postgres and sockets raise without a SQLSTATE when the connection is gone. */
const NETWORK_MESSAGE = /connection|terminated|timeout|timed out|not queryable|socket|ECONN|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND/i;

/** The SQLSTATE of a server error, if it is one. */
export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function classify(err: unknown): FailureClass {
  if (err instanceof RetryableError) return 'retryable';
  if (err instanceof StorageError) {
    if (RETRYABLE_STORAGE.has(err.code)) return 'retryable';
    return SCHEMA_STORAGE.has(err.code) ? 'schema' : 'other';
  }
  const state = sqlStateOf(err);
  if (state !== undefined) {
    const cls = state.slice(0, 2);
    if (DATA_CLASSES.has(cls)) return 'data';
    if (RETRYABLE_CLASSES.has(cls) || RETRYABLE_CODES.has(state)) return 'retryable';
    if (cls === '42') return 'schema';
    return 'other';
  }
  // Our own bugs must not masquerade as outages.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || err instanceof ReferenceError) return 'other';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return 'retryable';
  return err instanceof Error && NETWORK_MESSAGE.test(err.message) ? 'retryable' : 'other';
}

/** PostgreSQL's message with its SQLSTATE and, when it helps, its detail. */
export function describePgError(err: unknown): string {
  const state = sqlStateOf(err);
  const detail = (err as { detail?: unknown } | null)?.detail;
  const extra = typeof detail === 'string' && detail !== '' ? ` (${detail})` : '';
  return `${errorMessage(err)}${extra}${state === undefined ? '' : ` [SQLSTATE ${state}]`}`;
}

/** The error a write throws to the runtime, classified (data errors never get here: they are isolated). */
export function toSinkError(err: unknown, what: string): Error {
  const message = `${what}: ${describePgError(err)}`;
  switch (classify(err)) {
    case 'retryable':
      return err instanceof RetryableError ? err : new RetryableError(message, { cause: err, code: PG_SINK_ERRORS.TC_PG_SINK_UNAVAILABLE });
    case 'schema':
      return new RetryableError(message, { cause: err, code: PG_SINK_ERRORS.TC_PG_SINK_SCHEMA });
    default:
      return new ThermoclineError(PG_SINK_ERRORS.TC_PG_SINK_WRITE_FAILED, message, { cause: err });
  }
}

/** The row number a COPY error names in its context ("COPY metrics_points, line 3"), if any. */
export function copyLineOf(err: unknown): number | undefined {
  const where = (err as { where?: unknown } | null)?.where;
  if (typeof where !== 'string') return undefined;
  // The context is translated on servers with another lc_messages: then the writer bisects instead.
  const m = /^COPY [^,]+, line (\d+)/.exec(where);
  return m ? Number(m[1]) : undefined;
}
