/**
 * What the postgres sink offers other components and tools (re-exported by src/index.ts): its
 * connection, as a typed resource a task names in its plugin's `uses`
 * (docs/plugins.md#shared-resources).
 */
import { defineResource } from '../../../index.js';
import type { PostgresHandle } from './handle.js';

export type { PostgresHandle } from './handle.js';

/** The postgres sink's pool, flavour and migration parameters, offered under its component id. */
export const PostgresConnection = defineResource<PostgresHandle>('postgres.connection');
