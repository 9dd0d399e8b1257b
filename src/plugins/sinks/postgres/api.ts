/**
 * What the postgres sink offers other components and tools (re-exported by src/index.ts): the
 * handle it publishes, through which a task borrows its pool.
 */
export { type PostgresHandle, isPostgresHandle } from './handle.js';
