/**
 * Migration parameters: retention periods, compression age, the continuous-aggregate refresh window
 * and the series foreign key. Defaults come from the seed schema
 * (docs/storage.md#retention-parameters); they are parameters, never literals edited in SQL. Every
 * value is a whole number with its unit in the name, so nothing but digits ever reaches the SQL text.
 */
import { z } from 'zod';
import { StorageError } from './errors.js';

const days = (description: string) => z.int().positive().max(36_500).describe(description);
const minutes = (description: string) => z.int().positive().max(525_600).describe(description);

export const migrationParamsSchema = z
  .strictObject({
    pg_points_retention_days: days('Days metrics_points and metrics_histogram keep raw points (seed §1.2: 30).'),
    pg_points_compress_after_days: days('Days after which TimescaleDB compresses metrics_points chunks (seed §1.2: 7).'),
    pg_events_retention_days: days('Days events_generic keeps business events (seed §1.4: 30).'),
    pg_metrics_1m_retention_days: days('Days PostgreSQL keeps the metrics_1m rollup (seed §5: "CAGG 90 days or more").'),
    pg_partition_premake_days: days('Plain flavour: daily partitions created ahead of today.'),
    pg_cagg_start_offset_minutes: minutes('Refresh window start of metrics_1m, before now (seed §1.3: 2 hours).'),
    pg_cagg_end_offset_minutes: minutes('Refresh window end of metrics_1m, before now (seed §1.3: 1 minute).'),
    pg_cagg_schedule_interval_minutes: minutes('How often metrics_1m is refreshed (seed §1.3: 1 minute).'),
    ch_warm_after_days: days('ClickHouse logs/spans move to the warm volume after this many days (seed §2: 7).'),
    ch_cold_after_days: days('ClickHouse logs/spans move to the cold (S3) volume after this many days (seed §2: 30).'),
    ch_delete_after_days: days('ClickHouse logs/spans are deleted after this many days (seed §2: 180).'),
    ch_metrics_1m_retention_days: days('ClickHouse keeps metrics_1m this many days (seed §2.4: 365).'),
    series_foreign_key: z
      .boolean()
      .describe('Whether metrics_points/metrics_histogram.series_id reference metric_series (seed §1.2). Costs ~2.5x on COPY.'),
  });

export type MigrationParams = z.infer<typeof migrationParamsSchema>;

type Checkable = Partial<Record<keyof MigrationParams, unknown>>;

/** A value that passed its own check, so relations between fields can be judged. */
function whole(p: Checkable, key: keyof MigrationParams): number | undefined {
  const v = p[key];
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

/**
 * Relations between parameters. Checked separately from the schema so that they are reported
 * together with per-field errors (zod skips refinements once a field failed).
 */
function relationProblems(p: Checkable): string[] {
  const problems: string[] = [];
  const order = (lower: keyof MigrationParams, higher: keyof MigrationParams, why: string) => {
    const lo = whole(p, lower);
    const hi = whole(p, higher);
    if (lo !== undefined && hi !== undefined && lo >= hi) problems.push(`${lower}: must be less than ${higher} (${why})`);
  };
  order('pg_points_compress_after_days', 'pg_points_retention_days', 'chunks are compressed before they are dropped');
  order('ch_warm_after_days', 'ch_cold_after_days', 'data moves hot -> warm -> cold');
  order('ch_cold_after_days', 'ch_delete_after_days', 'data moves to cold before it is deleted');
  const start = whole(p, 'pg_cagg_start_offset_minutes');
  const end = whole(p, 'pg_cagg_end_offset_minutes');
  // TimescaleDB rejects a refresh window narrower than two buckets (1-minute buckets here).
  if (start !== undefined && end !== undefined && start - end < 2) {
    problems.push('pg_cagg_start_offset_minutes: must exceed pg_cagg_end_offset_minutes by at least 2 (the refresh window must cover two 1-minute buckets)');
  }
  const keep = whole(p, 'pg_metrics_1m_retention_days');
  if (keep !== undefined && start !== undefined && keep * 1440 <= start) {
    problems.push('pg_metrics_1m_retention_days: must be longer than the refresh window');
  }
  return problems;
}

export const DEFAULT_MIGRATION_PARAMS: Readonly<MigrationParams> = Object.freeze({
  pg_points_retention_days: 30,
  pg_points_compress_after_days: 7,
  pg_events_retention_days: 30,
  pg_metrics_1m_retention_days: 90,
  pg_partition_premake_days: 3,
  pg_cagg_start_offset_minutes: 120,
  pg_cagg_end_offset_minutes: 1,
  pg_cagg_schedule_interval_minutes: 1,
  ch_warm_after_days: 7,
  ch_cold_after_days: 30,
  ch_delete_after_days: 180,
  ch_metrics_1m_retention_days: 365,
  series_foreign_key: true,
});

/**
 * Merges overrides onto the defaults and validates the result, reporting every problem at once with
 * its key. Accepts `unknown` because overrides come from user config.
 */
export function resolveMigrationParams(overrides: unknown = {}): Readonly<MigrationParams> {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new StorageError('TC_MIGRATION_PARAMS_INVALID', 'invalid migration parameters: expected an object');
  }
  const merged: Checkable = { ...DEFAULT_MIGRATION_PARAMS, ...overrides };
  const result = migrationParamsSchema.safeParse(merged);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => {
        const key = issue.path.map(String).join('.');
        return key === '' ? issue.message : `${key}: ${issue.message}`;
      });
  problems.push(...relationProblems(merged));
  if (!result.success || problems.length > 0) {
    throw new StorageError('TC_MIGRATION_PARAMS_INVALID', `invalid migration parameters:\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze(result.data);
}
