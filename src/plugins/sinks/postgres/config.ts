import { z } from 'zod';
import { duration } from '../../../index.js';
import { DEFAULT_MIGRATION_PARAMS as D } from '../../../storage/index.js';

const days = (fallback: number, description: string) => z.int().positive().max(36_500).default(fallback).describe(description);
const minutes = (fallback: number, description: string) => z.int().positive().max(525_600).default(fallback).describe(description);

/** Retention of the hot tier. These are the storage layer's migration parameters (docs/storage.md). */
export const retentionSchema = z
  .strictObject({
    points_days: days(
      D.pg_points_retention_days,
      'How many days `metrics_points` and `metrics_histogram` keep raw points. TimescaleDB applies it as a retention policy; on plain PostgreSQL the sink drops daily partitions older than this.',
    ),
    points_compress_after_days: days(
      D.pg_points_compress_after_days,
      'TimescaleDB only: chunks of `metrics_points` older than this many days are compressed. Must be less than `points_days`.',
    ),
    events_days: days(D.pg_events_retention_days, 'How many days `events_generic` keeps business events.'),
    metrics_1m_days: days(D.pg_metrics_1m_retention_days, 'How many days PostgreSQL keeps the 1-minute rollup `metrics_1m`.'),
    partition_premake_days: days(D.pg_partition_premake_days, 'Plain PostgreSQL only: how many days of daily partitions the sink creates ahead of today.'),
  })
  .prefault({});

/** The refresh window of `metrics_1m` (TimescaleDB policy; the rollup exporter reads it too). */
export const rollupSchema = z
  .strictObject({
    start_offset_minutes: minutes(
      D.pg_cagg_start_offset_minutes,
      'The refresh of `metrics_1m` recomputes buckets from this many minutes ago: points arriving later than this are not folded into the rollup.',
    ),
    end_offset_minutes: minutes(
      D.pg_cagg_end_offset_minutes,
      'The refresh of `metrics_1m` stops this many minutes before now, so the current bucket is not published half full.',
    ),
    schedule_interval_minutes: minutes(D.pg_cagg_schedule_interval_minutes, 'TimescaleDB only: how often the refresh policy of `metrics_1m` runs.'),
  })
  .prefault({});

export const postgresSinkConfig = z.strictObject({
  url: z
    .string()
    .min(1)
    .default('embedded')
    .describe(
      'Where to write: a `postgres://user:password@host:5432/database` URL, or `"embedded"` for a PostgreSQL 18 the agent runs itself under `<data_dir>/postgres`. TLS is set in the URL with the libpq parameters `sslmode`, `sslrootcert`, `sslcert` and `sslkey` (see the README). Write `"${PG_URL}"` to take it from the environment.',
    ),
  pool_size: z
    .int()
    .min(2)
    .max(64)
    .default(4)
    .describe(
      'Most connections the sink opens. A delivery uses two: one for its transaction and one to look up new series while the COPY streams; partition maintenance and the rollup exporter (which shares this pool) use the others.',
    ),
  migrate: z
    .boolean()
    .default(true)
    .describe(
      'Apply the schema migrations (`migrations/pg/`) when the sink starts. With `false` the sink only checks that they were applied (by `thermocline migrate`) and refuses to start otherwise.',
    ),
  series_foreign_key: z
    .boolean()
    .default(D.series_foreign_key)
    .describe(
      'Create `metrics_points.series_id` and `metrics_histogram.series_id` with a foreign key to `metric_series`, as the seed schema does. It makes COPY into these tables 2 to 3 times slower (measured, see docs/storage.md). Only applies when the tables are created.',
    ),
  retention: retentionSchema.describe('Retention of the hot tier, in days.'),
  rollup: rollupSchema.describe('Refresh window of the 1-minute rollup `metrics_1m`.'),
  series_cache_size: z
    .int()
    .min(1)
    .max(10_000_000)
    .default(100_000)
    .describe(
      'How many `(metric name, labels) -> series_id` mappings the sink keeps in memory (least recently used are evicted). Set it above the number of active series: a miss costs a round trip to the database.',
    ),
  // prefault, not default: zod 4 returns a default as is, without running the unit transform.
  ledger_retention: duration()
    .prefault('7d')
    .describe(
      'How long the sink keeps its rows in the `thermocline_batches` ledger. The newest row of the sink is always kept, so a delivery replayed after any downtime is still recognised. Rows of batches named by an upstream identity (bus messages, docs/delivery.md#upstream-identity) are kept this long and no longer: a copy arriving later is written again.',
    ),
  maintenance_interval: duration()
    .prefault('1h')
    .describe("How often the sink prunes its ledger and, on plain PostgreSQL, creates the coming days' partitions and drops those past retention."),
  max_future: duration()
    .prefault('7d')
    .describe(
      "Plain PostgreSQL only: how far ahead of the agent's clock a row may be stamped. The sink creates the missing daily partition for a row up to this far in the future (or back to the retention); rows outside that window are moved to the dead-letter table.",
    ),
  typed_tables: z
    .enum(['create', 'off'])
    .default('create')
    .describe(
      'Business events whose registered schema names a table (`x-thermocline.table`) also go to that table, created on first use with a column per top-level property and widened by later compatible versions (docs/events.md#typed-tables). `off` writes `events_generic` only.',
    ),
  connect_timeout: duration().prefault('10s').describe('How long to wait for a connection, including waiting for a free one in the pool.'),
  statement_timeout: duration()
    .prefault('60s')
    .describe(
      'The server cancels a statement that runs longer (PostgreSQL `statement_timeout`); the delivery is then retried. The client also gives up on an unresponsive server 10 s after this. `0` disables both.',
    ),
});

export type PostgresSinkConfig = z.output<typeof postgresSinkConfig>;
