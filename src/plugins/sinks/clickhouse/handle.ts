/**
 * What a clickhouse sink publishes for other components (`ctx.publish`), chiefly the rollup
 * exporter (`rollup_exporter`, `clickhouse = "<sink id>"`): the sink's own connection, so that the
 * exporter writes `metrics_1m` through the same client (for `chdb://`, the same engine) and into
 * the same database, without a second url.
 *
 * Using the connection:
 * - Qualify every table with `database`: the client's current database stays `default`.
 * - Put per-insert settings (`insert_deduplication_token`) in the statement's SETTINGS clause, as
 *   insert.ts does, not in `clickhouse_settings`: on the embedded engine those are `SET` on the
 *   session every component shares and stay set (docs/storage.md).
 * - Do not close or release the client: the sink owns it.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export interface ClickHouseHandle {
  readonly kind: 'clickhouse';
  /** The id of the sink that published it. */
  readonly sink: string;
  /**
   * The connection, opened (and migrated, with `migrate = true`) on first use, so it may be called
   * before the sink's `start()` has finished. Rejects while ClickHouse is unreachable (call it
   * again later) and after the sink stopped.
   */
  connection(): Promise<{ client: ClickHouseClient; database: string; engine: 'server' | 'embedded' }>;
}
