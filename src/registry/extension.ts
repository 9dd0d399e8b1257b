/**
 * The `x-thermocline` keyword of an event schema: where its events are stored. Names that end up
 * in SQL are checked here, once, when the schema is registered (docs/events.md#typed-tables).
 */
import { SchemaError } from './errors.js';

export type EventStore = 'postgres' | 'clickhouse' | 'both';

export interface StorageExtension {
  /** The typed table, or undefined when events of the type only go to `events_generic`. */
  readonly table: string | undefined;
  readonly store: EventStore;
  /** Whether events also land in `events_generic` (default true). */
  readonly generic: boolean;
}

export const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Columns every typed table has; properties may not take these names. */
export const FIXED_COLUMNS = ['id', 'ts', 'type', 'service', 'severity', 'schema_version'] as const;

/** Tables Thermocline owns: a typed table must not take their names. */
const RESERVED_TABLES = new Set([
  'metric_series',
  'metrics_points',
  'metrics_histogram',
  'metrics_1m',
  'metrics_events',
  'events_generic',
  'thermocline_batches',
  'schema_migrations',
  'schema_registry',
  'logs_events',
  'spans',
  'span_events',
]);

const STORES: readonly EventStore[] = ['postgres', 'clickhouse', 'both'];

/** Reads and checks `x-thermocline`; `properties` are the schema's top-level property names. */
export function storageExtension(schema: Record<string, unknown>, properties: readonly string[]): StorageExtension {
  const raw = schema['x-thermocline'];
  if (raw === undefined) return { table: undefined, store: 'postgres', generic: true };
  const problems: string[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SchemaError('TC_SCHEMA_INVALID', 'x-thermocline must be an object such as {"table": "events_checkout", "store": "postgres"}');
  }
  const ext = raw as Record<string, unknown>;
  for (const key of Object.keys(ext)) {
    if (!['table', 'store', 'generic'].includes(key)) problems.push(`/x-thermocline/${key}: unknown key (allowed: table, store, generic)`);
  }
  const { table, store = 'postgres', generic = true } = ext;
  if (store !== undefined && !STORES.includes(store as EventStore)) problems.push(`/x-thermocline/store: must be one of ${STORES.join(', ')}`);
  if (typeof generic !== 'boolean') problems.push('/x-thermocline/generic: must be true or false');
  if (table !== undefined && typeof table !== 'string') problems.push('/x-thermocline/table: must be a string');
  if (problems.length > 0) throw new SchemaError('TC_SCHEMA_INVALID', 'invalid x-thermocline extension', problems);
  if (typeof table === 'string') checkTable(table, properties);
  if (table === undefined && generic === false) {
    throw new SchemaError('TC_SCHEMA_INVALID', 'x-thermocline: "generic": false needs a "table": the events would be stored nowhere');
  }
  return { table: table as string | undefined, store: store as EventStore, generic: generic as boolean };
}

function checkTable(table: string, properties: readonly string[]): void {
  const problems: string[] = [];
  if (!SAFE_IDENTIFIER.test(table)) problems.push(`table "${table}": must match [a-z_][a-z0-9_]* and be at most 63 characters`);
  else if (table.startsWith('pg_') || table.startsWith('_timescaledb') || RESERVED_TABLES.has(table)) problems.push(`table "${table}": reserved name`);
  for (const name of properties) {
    if (!SAFE_IDENTIFIER.test(name)) problems.push(`property "${name}": a column name must match [a-z_][a-z0-9_]* and be at most 63 characters`);
    else if ((FIXED_COLUMNS as readonly string[]).includes(name)) problems.push(`property "${name}": reserved for the fixed column of every typed table`);
  }
  if (problems.length > 0) throw new SchemaError('TC_SCHEMA_TABLE_NAME', 'the schema\'s table or column names are not safe SQL identifiers', problems);
}
