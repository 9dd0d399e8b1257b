/**
 * DDL of a typed business event table (docs/events.md#clickhouse). Every statement is idempotent
 * (`IF NOT EXISTS`): ClickHouse DDL is not transactional, and gateways sharing a server create and
 * widen the same tables at the same moment; ClickHouse checks `IF NOT EXISTS` under its own lock on
 * the table name, so the second gateway's statement does nothing instead of failing.
 *
 * - `ReplacingMergeTree` ordered by `(type, ts, id)`: `id` is the event's identity (a producer's
 *   idempotency key or a digest of its content, src/core/event-id.ts), so a client that sends an
 *   event twice in two requests leaves one row after merges (`SELECT … FINAL` at once), as
 *   PostgreSQL's `ON CONFLICT (id, ts)` does on the other side; replays of one delivery are already
 *   dropped by the insert's deduplication token. `type` leads (one value per table in practice, so
 *   it costs nothing and keeps types apart when two schemas name the same table), then `ts`, which
 *   every query on events filters by.
 * - Daily partitions (`toDate(ts)`), like PostgreSQL's typed tables, so that with
 *   `ttl_only_drop_parts` retention drops whole parts instead of rewriting them.
 * - The TTL tiers of `logs_events` (hot, warm after 7 days, cold after 30, deleted after 180 by
 *   default; delete only without the hot_warm_cold storage policy), from the same helper as the
 *   migrations (src/storage/clickhouse/ttl.ts).
 * - `non_replicated_deduplication_window = 1000`, as the seed tables: without it a plain MergeTree
 *   keeps no insert tokens and a replayed delivery would be written twice.
 * - On a `cluster`: the storage layer's rewrite (a `Replicated` engine on `<table>_local` ON
 *   CLUSTER, a `Distributed` table under the name), sharded by `cityHash64(id)`, deterministic so
 *   that a retried insert splits across shards as the first attempt did, and so that copies of
 *   one event meet on one shard, where they can be replaced.
 */
import { type MigrationParams, TIERED_POLICY, clusterStatements, renderTtl } from '../../../storage/index.js';
import { FIXED_TYPED_COLUMNS, type TypedColumn, columnIdentifier } from './typed-columns.js';

export const TYPED_SHARDING_KEY = 'cityHash64(id)';
/** The seed tables' window (migrations/clickhouse), which isolate.ts's budget stays under. */
export const TYPED_DEDUP_WINDOW = 1000;

export interface TypedTableTarget {
  readonly database: string;
  readonly table: string;
  readonly cluster?: string | undefined;
}

export function createTypedTableSql(t: TypedTableTarget, columns: readonly TypedColumn[], storagePolicy: string, params: MigrationParams): string[] {
  const definitions = [...FIXED_TYPED_COLUMNS.map(([name, type]) => `${name} ${type}`), ...columns.map((c) => `${columnIdentifier(c.name)} ${c.type}`)];
  const sql = [
    `CREATE TABLE IF NOT EXISTS ${t.database}.${t.table} (`,
    `  ${definitions.join(',\n  ')}`,
    ')',
    'ENGINE = ReplacingMergeTree',
    'PARTITION BY toDate(ts)',
    'ORDER BY (type, ts, id)',
    `TTL ${renderTtl({ column: 'ts', tiered: true }, params, storagePolicy === TIERED_POLICY)}`,
    `SETTINGS storage_policy = '${storagePolicy}', index_granularity = 8192, non_replicated_deduplication_window = ${TYPED_DEDUP_WINDOW}, ttl_only_drop_parts = 1`,
  ].join('\n');
  return t.cluster ? clusterStatements(sql, t.cluster, TYPED_SHARDING_KEY) : [sql];
}

/** Adds `columns` where missing; on a cluster to the shard-local tables and to the Distributed one. */
export function addTypedColumnsSql(t: TypedTableTarget, columns: readonly TypedColumn[]): string[] {
  if (columns.length === 0) return [];
  const sql = `ALTER TABLE ${t.database}.${t.table} ${columns.map((c) => `ADD COLUMN IF NOT EXISTS ${columnIdentifier(c.name)} ${c.type}`).join(', ')}`;
  if (!t.cluster) return [sql];
  // A Distributed table copies its columns when it is created: it needs the new ones as well.
  return [...clusterStatements(sql, t.cluster), sql.replace(`${t.database}.${t.table} `, `${t.database}.${t.table} ON CLUSTER ${t.cluster} `)];
}
