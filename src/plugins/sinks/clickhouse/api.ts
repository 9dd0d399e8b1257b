/**
 * What the clickhouse sink offers other components and tools (re-exported by src/index.ts): its
 * connection, as a typed resource a task names in its plugin's `uses`
 * (docs/plugins.md#shared-resources).
 */
import { defineResource } from '../../../index.js';
import type { ClickHouseHandle } from './handle.js';

export type { ClickHouseHandle } from './handle.js';

/** The clickhouse sink's client and database, offered under its component id. */
export const ClickHouseConnection = defineResource<ClickHouseHandle>('clickhouse.connection');
