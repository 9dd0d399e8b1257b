import { errorMessage, type PluginIssue } from '../../../index.js';
import { type MigrationParams, resolveMigrationParams } from '../../../storage/index.js';
import type { PostgresSinkConfig } from './config.js';

type PgParam = Exclude<keyof MigrationParams, `ch_${string}`>;

/** Where each PostgreSQL migration parameter sits in the sink's options. */
const OPTION_OF: Record<PgParam, readonly string[]> = {
  pg_points_retention_days: ['retention', 'points_days'],
  pg_points_compress_after_days: ['retention', 'points_compress_after_days'],
  pg_events_retention_days: ['retention', 'events_days'],
  pg_metrics_1m_retention_days: ['retention', 'metrics_1m_days'],
  pg_partition_premake_days: ['retention', 'partition_premake_days'],
  pg_cagg_start_offset_minutes: ['rollup', 'start_offset_minutes'],
  pg_cagg_end_offset_minutes: ['rollup', 'end_offset_minutes'],
  pg_cagg_schedule_interval_minutes: ['rollup', 'schedule_interval_minutes'],
  series_foreign_key: ['series_foreign_key'],
};

/** The sink's options as the storage layer's migration parameters (ClickHouse ones keep their defaults). */
export function migrationOverrides(config: PostgresSinkConfig): Pick<MigrationParams, PgParam> {
  const { retention: r, rollup } = config;
  return {
    pg_points_retention_days: r.points_days,
    pg_points_compress_after_days: r.points_compress_after_days,
    pg_events_retention_days: r.events_days,
    pg_metrics_1m_retention_days: r.metrics_1m_days,
    pg_partition_premake_days: r.partition_premake_days,
    pg_cagg_start_offset_minutes: rollup.start_offset_minutes,
    pg_cagg_end_offset_minutes: rollup.end_offset_minutes,
    pg_cagg_schedule_interval_minutes: rollup.schedule_interval_minutes,
    series_foreign_key: config.series_foreign_key,
  };
}

export function resolveSinkParams(config: PostgresSinkConfig): Readonly<MigrationParams> {
  return resolveMigrationParams(migrationOverrides(config));
}

const optionName = (param: string) => (param in OPTION_OF ? OPTION_OF[param as PgParam].join('.') : param);

/**
 * The relations between parameters (compression before retention, a refresh window of at least
 * two buckets, ...) are the storage layer's rules; this reports its findings at the sink's own
 * option paths so that `thermocline validate` names `sinks.pg.retention.points_days`.
 */
export function paramIssues(config: PostgresSinkConfig): PluginIssue[] {
  try {
    resolveSinkParams(config);
    return [];
  } catch (err) {
    const lines = errorMessage(err)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^\w+: /.test(l));
    if (lines.length === 0) return [{ path: [], message: errorMessage(err) }];
    return lines.map((line) => {
      const param = line.slice(0, line.indexOf(':'));
      const message = line.slice(param.length + 2).replace(/\b(pg_\w+|series_foreign_key)\b/g, (p) => optionName(p));
      return { path: [...(OPTION_OF[param as PgParam] ?? [])], message };
    });
  }
}
