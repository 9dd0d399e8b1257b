/**
 * ClickHouse cluster DDL (docs/storage.md#clusters). The migration files describe single-node
 * tables; on a cluster each of their statements is rewritten here, so one set of files serves both
 * and the files' checksums do not depend on the layout:
 *
 * - `CREATE TABLE db.t (…) ENGINE = XMergeTree(args)` becomes the shard-local table
 *   `db.t_local ON CLUSTER c … ENGINE = ReplicatedXMergeTree('/clickhouse/tables/{shard}/db/t_local',
 *   '{replica}', args)`, plus `db.t ON CLUSTER c AS db.t_local ENGINE = Distributed(c, db, t_local, key)`.
 *   The Distributed table keeps the table's usual name, so the clickhouse sink, the rollup exporter
 *   and queries write and read `db.t` unchanged.
 * - `ALTER TABLE db.t …` (indexes, TTLs) applies to `db.t_local ON CLUSTER c`.
 *
 * Sharding keys are deterministic functions of the row: a batch retried with the same
 * `insert_deduplication_token` is split across shards exactly as the first attempt was, so each
 * shard's replicated deduplication recognises its part (a random key would send different rows
 * under the same token, and the shard would drop rows it never stored).
 */
import { StorageError } from '../errors.js';
import { identifierLiteral, plainIdentifier } from '../migrate/sql-fragment.js';

export const LOCAL_SUFFIX = '_local';

/** Per table: the Distributed table's sharding key. */
export const SHARDING_KEYS: Readonly<Record<string, string>> = {
  // Logs spread evenly; a row always hashes to the same shard.
  logs_events: 'cityHash64(service, host, timestamp, message)',
  // A trace, its spans and their events live on one shard.
  spans: 'cityHash64(trace_id)',
  span_events: 'cityHash64(trace_id)',
  // ReplacingMergeTree only replaces rows within a shard: one series' buckets must share it, so that
  // `FINAL` through the Distributed table returns one row per bucket.
  metrics_1m: 'cityHash64(metric_name, labels)',
};

/** Validates a cluster name (a `remote_servers` entry) as a plain identifier. */
export function clusterName(name: string): string {
  try {
    return plainIdentifier(name);
  } catch {
    throw new StorageError(
      'TC_MIGRATION_PARAMS_INVALID',
      `invalid ClickHouse cluster name ${JSON.stringify(name)}: expected a plain identifier ([A-Za-z_][A-Za-z0-9_]*)`,
    );
  }
}

export function localTable(table: string): string {
  return `${table}${LOCAL_SUFFIX}`;
}

/** The ZooKeeper/Keeper path of a shard-local table: one replica set per shard. */
export function replicationPath(database: string, table: string): string {
  return `/clickhouse/tables/{shard}/${plainIdentifier(database)}/${plainIdentifier(table)}`;
}

const CREATE = /^CREATE TABLE IF NOT EXISTS ([A-Za-z_]\w*)\.([A-Za-z_]\w*)(\s*\()/;
const ENGINE = /ENGINE\s*=\s*(\w*MergeTree)(?:\(([^)]*)\))?/;
const ALTER = /^ALTER TABLE ([A-Za-z_]\w*)\.([A-Za-z_]\w*)(\s)/;

/**
 * Rewrites one statement of a migration file for `cluster` (see the module comment). A table
 * outside SHARDING_KEYS (the clickhouse sink's typed event tables) passes its own `shardingKey`.
 */
export function clusterStatements(statement: string, cluster: string, shardingKey?: string): string[] {
  const sql = stripLeadingComments(statement);
  const on = `ON CLUSTER ${clusterName(cluster)}`;
  const create = CREATE.exec(sql);
  if (create) {
    const [, database, table, paren] = create as unknown as [string, string, string, string];
    const key = shardingKey ?? SHARDING_KEYS[table];
    const engine = ENGINE.exec(sql);
    if (key === undefined || !engine) throw unsupported(statement, `no sharding key or MergeTree engine known for table ${table}`);
    const local = localTable(table);
    const args = [`'${replicationPath(database, local)}'`, "'{replica}'", ...(engine[2]?.trim() ? [engine[2].trim()] : [])];
    const replicated = sql
      .replace(CREATE, `CREATE TABLE IF NOT EXISTS ${database}.${local} ${on}${paren}`)
      .replace(ENGINE, `ENGINE = Replicated${engine[1]}(${args.join(', ')})`);
    const distributed =
      `CREATE TABLE IF NOT EXISTS ${database}.${table} ${on} AS ${database}.${local}\n` +
      `ENGINE = Distributed(${identifierLiteral(cluster)}, ${identifierLiteral(database)}, ${identifierLiteral(local)}, ${key})`;
    return [replicated, distributed];
  }
  const alter = ALTER.exec(sql);
  if (alter) {
    const [, database, table, space] = alter as unknown as [string, string, string, string];
    return [sql.replace(ALTER, `ALTER TABLE ${database}.${localTable(table)} ${on}${space}`)];
  }
  throw unsupported(statement, 'only CREATE TABLE IF NOT EXISTS and ALTER TABLE statements can be rewritten for a cluster');
}

/** `CREATE DATABASE` and `schema_migrations` for a cluster: the history is replicated to every node. */
export function clusterDatabaseSql(database: string, cluster: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${plainIdentifier(database)} ON CLUSTER ${clusterName(cluster)}`;
}

function stripLeadingComments(sql: string): string {
  return sql.replace(/^(\s*--[^\n]*\n)+/, '').trim();
}

function unsupported(statement: string, why: string): StorageError {
  return new StorageError('TC_MIGRATION_FILES_INVALID', `cannot create this statement on a cluster (${why}): ${statement.slice(0, 120)}`);
}
