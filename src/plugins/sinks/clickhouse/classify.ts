/**
 * What a failed insert means. The sink classifies; the runtime retries (docs/plugins.md#sinks).
 *
 * - `rows`: ClickHouse could not read or store some value (parse and type errors). Retrying the
 *   same rows cannot help: the sink isolates the bad rows and writes the rest (isolate.ts).
 * - `not_writable` / `schema`: read-only user, missing grant, bad credentials, missing table or
 *   column. An operator must act; until then the data stays queued (retryable) and the error is
 *   logged with what to do. Dropping it, or dead-lettering it, is how other agents lose data here.
 * - `transient`: network errors, timeouts, anything without a ClickHouse code (a proxy's 502, a
 *   reset connection), overload (TOO_MANY_PARTS, memory limit): retryable.
 * - `unknown`: a ClickHouse code not listed here: the runtime's unclassified policy (a few
 *   attempts, then dead-letter).
 *
 * ClickHouse error codes: src/Common/ErrorCodes.cpp in the ClickHouse repository.
 */

export type FailureKind = 'rows' | 'not_writable' | 'schema' | 'transient' | 'unknown';

export interface Failure {
  readonly kind: FailureKind;
  /** ClickHouse's numeric code, when the error came from ClickHouse. */
  readonly code?: number;
  /** ClickHouse's name for the code, e.g. CANNOT_PARSE_INPUT_ASSERTION_FAILED. */
  readonly type?: string;
  readonly message: string;
}

const ROW_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  33, // CANNOT_READ_ALL_DATA
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  128, // TOO_LARGE_ARRAY_SIZE
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  376, // CANNOT_PARSE_UUID
  441, // CANNOT_PARSE_IPV4
  442, // CANNOT_PARSE_IPV6
  467, // CANNOT_PARSE_BOOL
  691, // UNKNOWN_ELEMENT_OF_ENUM
]);

const NOT_WRITABLE_CODES = new Set([
  164, // READONLY: the user's profile has readonly = 1 or 2
  192, // UNKNOWN_USER
  193, // WRONG_PASSWORD
  194, // REQUIRED_PASSWORD
  195, // IP_ADDRESS_NOT_ALLOWED
  242, // TABLE_IS_READ_ONLY: a replica without Keeper, a read-only disk
  497, // ACCESS_DENIED: no INSERT grant
  516, // AUTHENTICATION_FAILED
]);

const SCHEMA_CODES = new Set([
  8, // THERE_IS_NO_COLUMN
  10, // NOT_FOUND_COLUMN_IN_BLOCK
  16, // NO_SUCH_COLUMN_IN_TABLE
  47, // UNKNOWN_IDENTIFIER
  48, // NOT_IMPLEMENTED (e.g. a table engine that takes no inserts)
  60, // UNKNOWN_TABLE
  81, // UNKNOWN_DATABASE
]);

const TRANSIENT_CODES = new Set([
  3, // UNEXPECTED_END_OF_FILE
  159, // TIMEOUT_EXCEEDED
  160, // TOO_SLOW
  173, // CANNOT_ALLOCATE_MEMORY
  201, // QUOTA_EXCEEDED
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  225, // NO_ZOOKEEPER
  236, // ABORTED
  241, // MEMORY_LIMIT_EXCEEDED
  243, // NOT_ENOUGH_SPACE
  252, // TOO_MANY_PARTS
  279, // ALL_CONNECTION_TRIES_FAILED
  285, // TOO_FEW_LIVE_REPLICAS
  319, // UNKNOWN_STATUS_OF_INSERT
  394, // QUERY_WAS_CANCELLED
  425, // SYSTEM_ERROR
  439, // CANNOT_SCHEDULE_TASK
  999, // KEEPER_EXCEPTION
  1000, // POCO_EXCEPTION
]);

/** ClickHouse errors carry their numeric code as a string (`@clickhouse/client`'s ClickHouseError). */
function clickHouseCode(err: unknown): { code: number; type?: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, type } = err as { code?: unknown; type?: unknown };
  if (typeof code !== 'string' || !/^\d+$/.test(code)) return undefined;
  return { code: Number(code), ...(typeof type === 'string' && type !== '' ? { type } : {}) };
}

export function classify(err: unknown): Failure {
  const message = err instanceof Error ? err.message.trim() : String(err);
  const ch = clickHouseCode(err);
  // Node network errors (ECONNREFUSED, ECONNRESET), client timeouts, a proxy's HTML error page.
  if (ch === undefined) return { kind: 'transient', message };
  const kind: FailureKind = ROW_CODES.has(ch.code)
    ? 'rows'
    : NOT_WRITABLE_CODES.has(ch.code)
      ? 'not_writable'
      : SCHEMA_CODES.has(ch.code)
        ? 'schema'
        : TRANSIENT_CODES.has(ch.code)
          ? 'transient'
          : 'unknown';
  return { kind, code: ch.code, ...(ch.type ? { type: ch.type } : {}), message };
}

/** `code 27 (CANNOT_PARSE_INPUT_ASSERTION_FAILED)`, for messages. */
export function describeCode(f: Failure): string {
  if (f.code === undefined) return 'no ClickHouse error code';
  return f.type ? `code ${f.code} (${f.type})` : `code ${f.code}`;
}

/** ClickHouse names the failing row of a parse error, counted from 1: "(at row 4)". */
export function failedRow(f: Failure): number | undefined {
  const m = /\(at row (\d+)\)/.exec(f.message);
  return m ? Number(m[1]) : undefined;
}
