/**
 * ClickHouse TTLs (seed §2 and §5), rendered from the migration parameters. Logs and traces move
 * hot -> warm -> cold and are then deleted when their table uses the hot_warm_cold storage
 * policy; without it (the embedded engine, a server without config/clickhouse/storage.xml) the
 * same tables only get the final DELETE, since TO VOLUME needs volumes that do not exist.
 */
import { chInterval, plainIdentifier } from '../migrate/sql-fragment.js';
import type { MigrationParams } from '../params.js';

export const TIERED_POLICY = 'hot_warm_cold';

export interface TtlTable {
  readonly table: 'logs_events' | 'spans' | 'span_events' | 'metrics_1m';
  /** The time column the TTL counts from. */
  readonly column: string;
  /** Whether the seed moves this table across volumes (metrics_1m only expires, seed §2.4). */
  readonly tiered: boolean;
}

export const TTL_TABLES: readonly TtlTable[] = [
  { table: 'logs_events', column: 'timestamp', tiered: true },
  { table: 'spans', column: 'start_time', tiered: true },
  { table: 'span_events', column: 'ts', tiered: true },
  { table: 'metrics_1m', column: 'bucket', tiered: false },
];

/**
 * The TTL expression list of one table, e.g. `ts + INTERVAL 7 DAY TO VOLUME 'warm', …`. Takes only
 * the column and the tiering, so that tables outside the migrations (the clickhouse sink's typed
 * event tables) get the same tiers as the seed's.
 */
export function renderTtl(spec: Pick<TtlTable, 'column' | 'tiered'>, params: MigrationParams, withVolumes: boolean): string {
  const column = plainIdentifier(spec.column);
  if (!spec.tiered) return `${column} + ${chInterval(params.ch_metrics_1m_retention_days, 'day')} DELETE`;
  const remove = `${column} + ${chInterval(params.ch_delete_after_days, 'day')} DELETE`;
  if (!withVolumes) return remove;
  return [
    `${column} + ${chInterval(params.ch_warm_after_days, 'day')} TO VOLUME 'warm'`,
    `${column} + ${chInterval(params.ch_cold_after_days, 'day')} TO VOLUME 'cold'`,
    remove,
  ].join(', ');
}

/**
 * `ALTER TABLE db.t MODIFY TTL …` for one table; on a cluster, for the shard-local table on every
 * node (cluster.ts).
 */
export function renderTtlStatement(database: string, spec: TtlTable, params: MigrationParams, withVolumes: boolean, cluster?: string): string {
  const table = cluster === undefined ? plainIdentifier(spec.table) : `${plainIdentifier(spec.table)}_local ON CLUSTER ${plainIdentifier(cluster)}`;
  return `ALTER TABLE ${plainIdentifier(database)}.${table} MODIFY TTL ${renderTtl(spec, params, withVolumes)}`;
}
