/** What the migration runners accept and report, shared by PostgreSQL and ClickHouse. */
import type { StorageLogger } from '../logger.js';
import type { MigrationParams } from '../params.js';

export type PgFlavour = 'timescaledb' | 'plain';

export interface MigrateOptions {
  /** Plan only: read the current state and report what would change, change nothing. */
  readonly dryRun?: boolean;
  /** Overrides of the retention parameters; unspecified keys take the seed defaults. */
  readonly params?: Partial<MigrationParams>;
  readonly logger?: StorageLogger;
  /** Migrations directory; defaults to the package's `migrations/pg` or `migrations/clickhouse`. */
  readonly dir?: string;
}

/**
 * One change made (or planned, under dry-run). A run that finds everything up to date returns no
 * steps, which is how idempotency shows.
 */
export interface MigrationStep {
  /**
   * `migration`: a numbered file, applied once. `repeatable`: re-applied because its rendered text
   * (retention parameters) changed. `maintenance`: plain-flavour partitions and rollup retention.
   */
  readonly kind: 'migration' | 'repeatable' | 'maintenance';
  /** `0003`, `R__policies`, `R__ttl_logs_events`, or the partition name for maintenance. */
  readonly id: string;
  /** File name or a short description. */
  readonly name: string;
  /** The SQL run (or to be run), rendered with the parameters. */
  readonly sql: string;
}

export interface MigrateResult {
  readonly target: 'postgres' | 'clickhouse';
  readonly dryRun: boolean;
  /** `applied` when dryRun is false, else `planned`. Empty when already up to date. */
  readonly steps: readonly MigrationStep[];
  /** Things an operator should know that did not stop the run (e.g. an FK setting that cannot change). */
  readonly warnings: readonly string[];
  /** PostgreSQL only. */
  readonly flavour?: PgFlavour;
  /** ClickHouse only: the database migrated and whether the hot_warm_cold policy is used. */
  readonly database?: string;
  readonly storagePolicy?: 'hot_warm_cold' | 'default';
  /** ClickHouse only: the cluster the tables were created on, when one was given. */
  readonly cluster?: string;
}
