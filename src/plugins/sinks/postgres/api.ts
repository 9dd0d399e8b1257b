/**
 * What the postgres sink offers other components and tools (re-exported by src/index.ts): its
 * connection, as a typed resource a task names in its plugin's `uses`
 * (docs/plugins.md#shared-resources), and the schema registry kept in its database.
 */
import { type ComponentContext, CORE_ERRORS, defineResource, REGISTRY_ERRORS, SchemaRegistry, ThermoclineError } from '../../../index.js';
import type { PostgresHandle } from './handle.js';

export type { PostgresHandle } from './handle.js';

/** The postgres sink's pool, flavour and migration parameters, offered under its component id. */
export const PostgresConnection = defineResource<PostgresHandle>('postgres.connection');

/**
 * The schema registry in the database of the postgres sink `sinkId`, for a component that
 * declared `{ key: PostgresConnection, from: sinkId }` in its plugin's `uses`. Not started: the
 * caller starts and stops it with its own lifecycle.
 */
export function schemaRegistryOf(ctx: ComponentContext, sinkId: string, pollSecs = 30): SchemaRegistry {
  if (ctx.use(PostgresConnection, sinkId) === undefined) {
    throw new ThermoclineError(CORE_ERRORS.TC_PLUGIN_CREATE, `${ctx.kind}s.${ctx.id}: registry = "${sinkId}" is not a running postgres sink of this config`);
  }
  return new SchemaRegistry({
    pool: async () => {
      // Looked up on every use: after a reload replaced the postgres sink, this is the new one.
      const handle = ctx.use(PostgresConnection, sinkId);
      if (handle === undefined) throw new ThermoclineError(REGISTRY_ERRORS.TC_SCHEMA_REGISTRY_UNREACHABLE, `registry = "${sinkId}" is not a running postgres sink of this config`);
      return handle.pool();
    },
    state: ctx.state,
    logger: ctx.logger,
    pollIntervalMs: pollSecs * 1000,
  });
}
