import { defineErrorCodes } from '../../../index.js';

/** The exporter's user-facing errors; docs/errors.md is generated from these. */
export const CAGG_ERRORS = defineErrorCodes({
  TC_CAGG_WRONG_SINK: {
    title: 'The rollup exporter names a component that is not a sink of the expected type.',
    hint: '`postgres` must name a `postgres` sink and `clickhouse` a `clickhouse` sink of the same config, or be a URL (`postgres://…`, `embedded`, `http(s)://…`, `chdb://…`).',
  },
  TC_CAGG_SCHEMA: {
    title: 'The `metrics_1m` tables the rollup exporter needs are missing or have another shape.',
    hint: 'Run `thermocline migrate --pg <url> --clickhouse <url>` (or let the named sinks migrate with `migrate = true`). ClickHouse `metrics_1m` must be a ReplacingMergeTree with a `version UInt64` column (migrations/clickhouse/0004_metrics_1m.sql).',
  },
  TC_CAGG_EXPORT_FAILED: {
    title: 'A rollup export cycle failed; the watermark did not advance and the next cycle exports the same buckets again.',
    hint: 'Check that PostgreSQL and ClickHouse are reachable and the user may read `metrics_1m` (and, on plain PostgreSQL, refresh it: SELECT on `metrics_points` and `metric_series`, INSERT and DELETE on `metrics_1m`) and insert into ClickHouse `metrics_1m`. Nothing is lost: ClickHouse catches up when the cause is fixed.',
  },
  TC_CAGG_RANGE_INVALID: {
    title: 'The time range given to `thermocline export-rollups` is not valid.',
    hint: 'Give `--from` and `--to` as ISO 8601 times (`2024-05-01T00:00:00Z`) or Unix seconds, with `--from` before `--to`.',
  },
});
