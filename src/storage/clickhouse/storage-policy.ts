/**
 * Whether to create tables on the hot_warm_cold storage policy
 * (docs/storage.md#the-storage-policy-and-configclickhousestoragexml): only when the server
 * defines it with its `warm` and `cold` volumes (config/clickhouse/storage.xml). The embedded
 * engine never has it.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { StorageError } from '../errors.js';
import { identifierLiteral } from '../migrate/sql-fragment.js';
import { TIERED_POLICY } from './ttl.js';

export type StoragePolicyChoice = 'auto' | 'hot_warm_cold' | 'default';

export async function serverHasTieredPolicy(client: ClickHouseClient): Promise<boolean> {
  const rs = await client.query({
    query: `SELECT volume_name FROM system.storage_policies WHERE policy_name = ${identifierLiteral(TIERED_POLICY)}`,
    format: 'JSONEachRow',
  });
  const volumes = new Set((await rs.json<{ volume_name: string }>()).map((r) => r.volume_name));
  return volumes.has('warm') && volumes.has('cold');
}

export async function chooseStoragePolicy(client: ClickHouseClient, requested: StoragePolicyChoice): Promise<'hot_warm_cold' | 'default'> {
  if (requested === 'default') return 'default';
  const available = await serverHasTieredPolicy(client);
  if (requested === 'hot_warm_cold' && !available) {
    throw new StorageError('TC_CH_STORAGE_POLICY_MISSING', `storage policy ${TIERED_POLICY} (with volumes warm and cold) is not defined on this server`);
  }
  return available ? 'hot_warm_cold' : 'default';
}

/** The storage policy of each existing table of `database`. */
export async function tableStoragePolicies(client: ClickHouseClient, database: string): Promise<Map<string, string>> {
  const rs = await client.query({
    query: `SELECT name, storage_policy FROM system.tables WHERE database = ${identifierLiteral(database)}`,
    format: 'JSONEachRow',
  });
  return new Map((await rs.json<{ name: string; storage_policy: string }>()).map((r) => [r.name, r.storage_policy]));
}
