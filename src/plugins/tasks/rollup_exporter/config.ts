import { z } from 'zod';
import { duration } from '../../../index.js';

/**
 * `max_rows_per_cycle` stays below ClickHouse's `min_insert_block_size_rows` (1,048,449 by
 * default), so that each insert forms one block and is written all or nothing.
 */
export const MAX_ROWS_PER_INSERT = 1_000_000;

export const caggExporterConfig = z.strictObject({
  postgres: z
    .string()
    .min(1)
    .describe(
      'Where to read `metrics_1m` from: the id of a `postgres` sink in this config (its connection, flavour and refresh window are reused, and it starts before the exporter), or a URL: `postgres://user:password@host:5432/database`, or `"embedded"` for the PostgreSQL the agent runs under `<data_dir>/postgres`. With a URL the schema must already be migrated (`thermocline migrate`).',
    ),
  clickhouse: z
    .string()
    .min(1)
    .describe(
      'Where to write `metrics_1m`: the id of a `clickhouse` sink in this config (its connection and database are reused), or a URL: `http(s)://user:password@host:8123/database` or `chdb://<directory>` for the embedded engine. With a URL the table must already exist (`thermocline migrate`).',
    ),
  interval: duration()
    .prefault('1m')
    .describe(
      'How often the exporter runs a cycle: refresh (plain PostgreSQL), read the closed buckets from `watermark - lateness` on, write them to ClickHouse, advance the watermark. While it is behind (a backfill, or after downtime) it runs cycles back to back.',
    ),
  lateness: duration()
    .prefault('5m')
    .describe(
      'How far behind the watermark each cycle goes again, so that buckets changed by late points are exported again (rounded up to whole minutes). On plain PostgreSQL the exporter also recomputes these buckets from `metrics_points` first; points later than this are folded into neither copy. On TimescaleDB the exporter goes back at least as far as the continuous aggregate refresh policy reaches (`start_offset - end_offset`), whatever this says.',
    ),
  max_rows_per_cycle: z
    .int()
    .min(1)
    .max(MAX_ROWS_PER_INSERT)
    .default(100_000)
    .describe(
      'Most rollup rows one export reads from PostgreSQL and writes to ClickHouse in one insert. Longer ranges (a first backfill, catching up after downtime) are cut into whole-minute chunks of at most this many rows (a single minute with more rows is exported whole); the watermark advances after each chunk.',
    ),
});

export type CaggExporterConfig = z.output<typeof caggExporterConfig>;

/** A value of `postgres` or `clickhouse` that is a connection string rather than a sink id. */
export function isConnectionUrl(value: string): boolean {
  return value.trim() === 'embedded' || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value.trim());
}
