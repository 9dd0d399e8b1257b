/**
 * What the clickhouse sink offers other components and tools (re-exported by src/index.ts): the
 * handle it publishes, through which a task uses its connection.
 */
export { type ClickHouseHandle, isClickHouseHandle } from './handle.js';
