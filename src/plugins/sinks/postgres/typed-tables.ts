/**
 * Typed tables of business events, created the first time an event of their type arrives
 * (docs/events.md#typed-tables). The schema's `x-thermocline.table` names the table; its top-level
 * properties become columns (mapping below), nested objects and arrays JSONB. A new compatible
 * version adds its columns (`ADD COLUMN IF NOT EXISTS`). Creation and widening hold a per-table
 * advisory lock, so gateways sharing the database do not race each other into errors.
 *
 * Rows are inserted with `ON CONFLICT (id, ts) DO NOTHING` before the delivery's ledger commit:
 * a retry or replay inserts nothing twice, so the typed table is exactly once on its own. A row
 * the server refuses (a value out of its column's range) is found by splitting the insert and
 * reported as rejected, so it goes to the dead-letter table and the others are stored.
 */
import type pg from 'pg';
import { type BusinessEvent, type CompiledSchema, type SchemaRegistry, type TelemetryEvent, eventId } from '../../../index.js';

/** A business event of the delivery and its index in it. */
export interface Row {
  readonly index: number;
  readonly event: BusinessEvent;
}
import { type PgFlavour, quoteIdent, quoteLiteral } from '../../../storage/index.js';
import { classify, describePgError } from './classify.js';

/** JSON Schema `type` of a top-level property → PostgreSQL column type. */
export function columnType(property: unknown): string {
  if (typeof property !== 'object' || property === null) return 'jsonb';
  const p = property as { type?: unknown; format?: unknown };
  switch (p.type) {
    case 'string':
      return p.format === 'date-time' ? 'timestamptz' : p.format === 'uuid' ? 'uuid' : 'text';
    case 'integer':
      return 'bigint';
    case 'number':
      return 'double precision';
    case 'boolean':
      return 'boolean';
    default:
      return 'jsonb';
  }
}

function columnsOf(schema: CompiledSchema): Array<[string, string]> {
  const props = (schema.schema.properties ?? {}) as Record<string, unknown>;
  return Object.entries(props).map(([name, p]) => [name, columnType(p)]);
}

/** RFC 3339 with microseconds, which `timestamptz` input keeps. */
function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, -1)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}

const dayStart = (us: number) => Math.floor(us / 86_400_000_000) * 86_400_000;

export class TypedTables {
  /** `table@version` already created or widened by this process. */
  private readonly ready = new Set<string>();
  private readonly partitions = new Set<string>();

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly retentionDays: number,
    private readonly onCreated: (table: string) => void,
  ) {}

  /** Whether events of `type` also go to `events_generic` (unless their schema says not to). */
  generic(type: string): boolean {
    return this.registry.get(type)?.storage.generic !== false;
  }

  /**
   * Writes the events whose schema asks for a PostgreSQL table; the others are left alone.
   * Returns the rows the server refused: event index → reason.
   */
  write(pool: pg.Pool, flavour: PgFlavour, events: readonly TelemetryEvent[]): Promise<Map<number, string>> {
    const rows: Row[] = [];
    events.forEach((event, index) => {
      if (event.kind === 'event') rows.push({ index, event });
    });
    return this.writeRows(pool, flavour, rows);
  }

  /** `write` of a delivery's business events, given with their indexes in it (`Planner.business`). */
  async writeRows(pool: pg.Pool, flavour: PgFlavour, events: readonly Row[]): Promise<Map<number, string>> {
    const byTable = new Map<string, { schema: CompiledSchema; rows: Row[] }>();
    events.forEach(({ index, event: e }) => {
      const schema = this.registry.get(e.type);
      const table = schema?.storage.table;
      if (schema === undefined || table === undefined || schema.storage.store === 'clickhouse') return;
      const group = byTable.get(table) ?? { schema, rows: [] };
      group.rows.push({ index, event: e });
      byTable.set(table, group);
    });
    const rejected = new Map<number, string>();
    for (const [table, { schema, rows }] of byTable) {
      await this.ensure(pool, flavour, table, schema, rows.map((r) => r.event));
      await this.insertIsolating(pool, table, schema, rows, rejected);
    }
    return rejected;
  }

  /** Inserts `rows`; when the server refuses a value, halves until the refused rows are alone. */
  private async insertIsolating(pool: pg.Pool, table: string, schema: CompiledSchema, rows: readonly Row[], rejected: Map<number, string>): Promise<void> {
    try {
      await this.insert(pool, table, schema, rows.map((r) => r.event));
    } catch (err) {
      if (classify(err) !== 'data') throw err;
      if (rows.length === 1) {
        rejected.set((rows[0] as Row).index, `TC_PG_SINK_ROW_REJECTED: ${table}: ${describePgError(err)}`);
        return;
      }
      const half = Math.ceil(rows.length / 2);
      await this.insertIsolating(pool, table, schema, rows.slice(0, half), rejected);
      await this.insertIsolating(pool, table, schema, rows.slice(half), rejected);
    }
  }

  private async ensure(pool: pg.Pool, flavour: PgFlavour, table: string, schema: CompiledSchema, rows: readonly BusinessEvent[]): Promise<void> {
    const days = flavour === 'plain' ? [...new Set(rows.map((r) => dayStart(r.time_us)))].filter((d) => !this.partitions.has(`${table}:${d}`)) : [];
    const key = `${table}@${schema.version}`;
    if (this.ready.has(key) && days.length === 0) return;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('thermocline.typed_table:' || $1, 0))", [table]);
      const t = quoteIdent(table);
      const exists = (await client.query('SELECT to_regclass($1) AS r', [table])).rows[0]?.r !== null;
      if (!exists) {
        await client.query(
          `CREATE TABLE ${t} (id uuid NOT NULL, ts timestamptz NOT NULL, type text NOT NULL, service text, severity text, schema_version text, PRIMARY KEY (id, ts))${flavour === 'plain' ? ' PARTITION BY RANGE (ts)' : ''}`,
        );
        if (flavour === 'timescaledb') {
          await client.query(`SELECT create_hypertable($1::regclass, 'ts', chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE)`, [table]);
          await client.query(`SELECT add_retention_policy($1::regclass, ($2 || ' days')::interval, if_not_exists => TRUE)`, [table, String(this.retentionDays)]);
        }
        this.onCreated(table);
      }
      for (const [name, type] of columnsOf(schema)) await client.query(`ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} ${type}`);
      for (const day of days) {
        const from = new Date(day).toISOString();
        const to = new Date(day + 86_400_000).toISOString();
        const name = quoteIdent(`${table}_p${from.slice(0, 10).replaceAll('-', '')}`.slice(0, 63));
        await client.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${t} FOR VALUES FROM (${quoteLiteral(from)}) TO (${quoteLiteral(to)})`);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    this.ready.add(key);
    for (const day of days) this.partitions.add(`${table}:${day}`);
  }

  private async insert(pool: pg.Pool, table: string, schema: CompiledSchema, rows: readonly BusinessEvent[]): Promise<void> {
    const columns = columnsOf(schema);
    const fixed: Array<[string, string]> = [
      ['id', 'uuid'],
      ['ts', 'timestamptz'],
      ['type', 'text'],
      ['service', 'text'],
      ['severity', 'text'],
      ['schema_version', 'text'],
    ];
    const all = [...fixed, ...columns];
    const names = all.map(([n]) => quoteIdent(n)).join(', ');
    const record = all.map(([n, type]) => `${quoteIdent(n)} ${type}`).join(', ');
    const json = rows.map((e) => ({
      ...e.payload,
      id: eventId(e.id, e),
      ts: isoMicros(e.time_us),
      type: e.type,
      service: e.service,
      severity: e.severity,
      schema_version: schema.version,
    }));
    await pool.query(`INSERT INTO ${quoteIdent(table)} (${names}) SELECT ${names} FROM jsonb_to_recordset($1::jsonb) AS x(${record}) ON CONFLICT DO NOTHING`, [JSON.stringify(json)]);
  }
}
