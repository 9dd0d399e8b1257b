/**
 * Typed business event tables in ClickHouse (docs/events.md#clickhouse): a schema whose
 * `x-thermocline` names a `table` with `store = "clickhouse"` or `"both"` gets its own table,
 * created the first time one of its events reaches this sink and widened (`ADD COLUMN IF NOT
 * EXISTS`) the first time an event arrives under a newer compatible version. What has been created
 * or widened is remembered per table, type and version in this process; the DDL is idempotent
 * (typed-ddl.ts), so other gateways doing the same at the same moment are harmless.
 *
 * Rows are inserted by write-batch.ts like every other table of the sink: one insert per table
 * under `delivery.token(table)`, bad rows isolated.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { type BusinessEvent, type CompiledSchema, type RejectedRow, type SchemaRegistry, type TelemetryEvent, eventId } from '../../../index.js';
import { DEFAULT_MIGRATION_PARAMS, chooseStoragePolicy } from '../../../storage/index.js';
import { RowsBuilder, type Rows } from './encode.js';
import { quote } from './insert.js';
import { FIXED_TYPED_COLUMNS, type TypedColumn, columnIdentifier, encodeValue, typedColumns } from './typed-columns.js';
import { addTypedColumnsSql, createTypedTableSql } from './typed-ddl.js';

/** The rows of one typed table in a delivery. */
export interface TypedRows {
  readonly table: string;
  /** Quoted column names, in the order of the rows. */
  readonly columns: readonly string[];
  readonly rows: Rows;
}

export interface TypedPlan {
  readonly tables: readonly TypedRows[];
  /** Events a typed table takes whose schema says `generic: false`: not for `tables.event`. */
  readonly typedOnly: ReadonlySet<number>;
  /** Events this sink cannot write to their typed table (see `plan`). */
  readonly rejected: readonly RejectedRow[];
}

export interface TypedTablesOptions {
  readonly registry: SchemaRegistry;
  /** The tables of `tables.*`: a typed table must not share one (their insert tokens would collide). */
  readonly mapped: ReadonlySet<string>;
  readonly cluster?: string | undefined;
  readonly onCreated?: (table: string) => void;
}

interface Group {
  readonly schemas: Map<string, CompiledSchema>;
  readonly events: Array<[number, BusinessEvent]>;
}

/** How long a type the registry did not know is taken as unregistered before the registry is read again. */
const UNKNOWN_RECHECK_MS = 30_000;

export class TypedTables {
  /** `table@type@version` created or widened by this process. */
  private readonly ready = new Map<string, Promise<void>>();
  private readonly unknown = new Map<string, number>();
  private policy: Promise<string> | undefined;

  constructor(private readonly o: TypedTablesOptions) {
    o.registry.onChange((types) => {
      for (const type of types) this.unknown.delete(type);
    });
  }

  /**
   * Reads the registry again when the delivery has a type it has not heard of (a schema registered
   * a moment ago, whose notification is still on its way), at most every 30 s per type. Throws when
   * the registry has never been read (nothing saved either): writing without it would skip events
   * whose tables exist.
   */
  async refresh(events: readonly TelemetryEvent[]): Promise<void> {
    const registry = this.o.registry;
    if (registry.origin === 'none') {
      await registry.reload();
      return;
    }
    const now = Date.now();
    const fresh = new Set<string>();
    for (const e of events) {
      if (e.kind !== 'event' || registry.get(e.type) !== undefined) continue;
      const checked = this.unknown.get(e.type);
      if (checked === undefined || now - checked > UNKNOWN_RECHECK_MS) fresh.add(e.type);
    }
    if (fresh.size === 0) return;
    for (const type of fresh) this.unknown.set(type, now);
    // Unreachable now: the types stay as the registry last knew them, like the validation's.
    await registry.reload().catch(() => undefined);
  }

  /** Creates or widens the tables the delivery needs and encodes their rows. */
  async plan(client: ClickHouseClient, database: string, events: readonly TelemetryEvent[]): Promise<TypedPlan> {
    const groups = new Map<string, Group>();
    const typedOnly = new Set<number>();
    const rejected: RejectedRow[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as TelemetryEvent;
      if (e.kind !== 'event') continue;
      const schema = this.o.registry.get(e.type);
      const table = schema?.storage.table;
      if (schema === undefined || table === undefined || schema.storage.store === 'postgres') continue;
      if (this.o.mapped.has(table)) {
        rejected.push({
          index: i,
          reason: `the schema of "${e.type}" names the table ${table}, which this sink's tables option already uses for another kind; rename one of them`,
        });
        continue;
      }
      if (!schema.storage.generic) typedOnly.add(i);
      let group = groups.get(table);
      if (!group) groups.set(table, (group = { schemas: new Map(), events: [] }));
      group.schemas.set(schema.type, schema);
      group.events.push([i, e]);
    }
    const tables: TypedRows[] = [];
    for (const [table, group] of groups) {
      // Two types in one table: the union of their columns, the first type's column type winning.
      const columns = new Map<string, TypedColumn>();
      for (const schema of group.schemas.values()) {
        await this.ensure(client, database, table, schema);
        for (const c of typedColumns(schema)) if (!columns.has(c.name)) columns.set(c.name, c);
      }
      tables.push(encodeRows(table, [...columns.values()], group));
    }
    return { tables, typedOnly, rejected };
  }

  /** Forgets what was created (the tables may have been dropped or altered behind the sink's back). */
  forget(): void {
    this.ready.clear();
  }

  private ensure(client: ClickHouseClient, database: string, table: string, schema: CompiledSchema): Promise<void> {
    const key = `${table}@${schema.type}@${schema.version}`;
    let pending = this.ready.get(key);
    if (!pending) {
      const started = this.createOrWiden(client, database, table, schema);
      this.ready.set(key, (pending = started));
      started.catch(() => {
        if (this.ready.get(key) === started) this.ready.delete(key);
      });
    }
    return pending;
  }

  private async createOrWiden(client: ClickHouseClient, database: string, table: string, schema: CompiledSchema): Promise<void> {
    const target = { database, table, cluster: this.o.cluster };
    const columns = typedColumns(schema);
    const existing = await describe(client, database, table);
    if (existing === undefined) {
      this.policy ??= chooseStoragePolicy(client, 'auto').catch((err: unknown) => {
        this.policy = undefined;
        throw err;
      });
      // The sink's migrations run with the default parameters, so the seed tables' tiers are these.
      for (const query of createTypedTableSql(target, columns, await this.policy, DEFAULT_MIGRATION_PARAMS)) await client.command({ query });
      this.o.onCreated?.(table);
    }
    const missing = existing === undefined ? [] : columns.filter((c) => !existing.has(c.name));
    for (const query of addTypedColumnsSql(target, missing)) await client.command({ query });
  }
}

/** The table's column names, or undefined when it does not exist. */
async function describe(client: ClickHouseClient, database: string, table: string): Promise<Set<string> | undefined> {
  const result = await client.query({
    query: `SELECT name FROM system.columns WHERE database = ${quote(database)} AND table = ${quote(table)}`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ name: string }>();
  return rows.length === 0 ? undefined : new Set(rows.map((r) => r.name));
}

const str = JSON.stringify;

function encodeRows(table: string, columns: readonly TypedColumn[], group: Group): TypedRows {
  const builder = new RowsBuilder();
  for (const [index, e] of group.events) {
    const version = group.schemas.get(e.type)?.version ?? '';
    const payload = typeof e.payload === 'object' && e.payload !== null ? e.payload : {};
    let line = `[${Math.floor(e.time_us)},${str([eventId(e.id, e), e.type, e.service, e.severity, version]).slice(1, -1)}`;
    for (const c of columns) line += `,${encodeValue(c.kind, payload[c.name])}`;
    builder.add(`${line}]\n`, index);
  }
  return { table, columns: [...FIXED_TYPED_COLUMNS.map(([name]) => name), ...columns.map((c) => columnIdentifier(c.name))], rows: builder.build() };
}
