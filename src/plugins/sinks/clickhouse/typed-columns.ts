/**
 * The columns of a typed business event table in ClickHouse and how a payload value is written
 * into each (docs/events.md#clickhouse). One column per top-level property of the schema:
 *
 * | JSON Schema | ClickHouse |
 * | --- | --- |
 * | `string` | `String` |
 * | `string` with `format: date-time` | `DateTime64(6, 'UTC')` |
 * | `integer` | `Int64` |
 * | `number` | `Float64` |
 * | `boolean` | `Bool` |
 * | anything else (object, array, a union of types, no `type`) | `String` holding the value's JSON |
 *
 * `Nullable(…)` unless the property is `required`. A `format: uuid` string stays `String`: Ajv's
 * uuid format also accepts the `urn:uuid:` form, which ClickHouse's UUID refuses.
 *
 * Date-times are parsed here, as RFC 3339 (what Ajv's `date-time` checks), into microsecond ticks,
 * like every other time this sink writes (schema.ts): ClickHouse's default
 * `date_time_input_format = 'basic'` does not read offsets, and 'best_effort' would also accept
 * strings that are not RFC 3339. A value that does not parse is sent as it is, so that ClickHouse
 * refuses the row and it is isolated (isolate.ts) with ClickHouse's message rather than stored as
 * a made-up time.
 */
import type { CompiledSchema } from '../../../index.js';

type Kind = 'string' | 'datetime' | 'integer' | 'number' | 'boolean' | 'json';

export interface TypedColumn {
  readonly name: string;
  /** The ClickHouse type, `Nullable(…)` for optional properties. */
  readonly type: string;
  readonly kind: Kind;
}

const BASE: Readonly<Record<Kind, string>> = {
  string: 'String',
  datetime: "DateTime64(6, 'UTC')",
  integer: 'Int64',
  number: 'Float64',
  boolean: 'Bool',
  json: 'String',
};

/**
 * The fixed columns, in the order every row starts with: `ts` first so that the rest of the fixed
 * part is one JSON.stringify (as in encode.ts). `ORDER BY (type, ts, id)`: see typed-ddl.ts.
 */
export const FIXED_TYPED_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['ts', "DateTime64(6, 'UTC')"],
  ['id', 'UUID'],
  ['type', 'LowCardinality(String)'],
  ['service', 'LowCardinality(String)'],
  ['severity', 'LowCardinality(String)'],
  ['schema_version', 'LowCardinality(String)'],
];

function kindOf(property: unknown): Kind {
  if (typeof property !== 'object' || property === null) return 'json';
  const p = property as { type?: unknown; format?: unknown };
  switch (p.type) {
    case 'string':
      return p.format === 'date-time' ? 'datetime' : 'string';
    case 'integer':
    case 'number':
    case 'boolean':
      return p.type;
    default:
      return 'json';
  }
}

/** The property columns of a schema, in the order of its `properties`. */
export function typedColumns(schema: CompiledSchema): TypedColumn[] {
  const props = schema.schema.properties;
  if (typeof props !== 'object' || props === null || Array.isArray(props)) return [];
  const required = new Set(Array.isArray(schema.schema.required) ? (schema.schema.required as unknown[]) : []);
  return Object.entries(props as Record<string, unknown>).map(([name, p]) => {
    const kind = kindOf(p);
    return { name, kind, type: required.has(name) ? BASE[kind] : `Nullable(${BASE[kind]})` };
  });
}

/** ClickHouse identifiers: property names are `[a-z_][a-z0-9_]*` (registry), but may be keywords (`order`). */
export function columnIdentifier(name: string): string {
  return `\`${name}\``;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Microseconds since the epoch of an RFC 3339 date-time, or undefined when it is not one. */
export function rfc3339Micros(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const n = (i: number) => Number(m[i]);
  const ms = Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6));
  const fraction = Number((m[7] ?? '').slice(0, 6).padEnd(6, '0'));
  const offsetMinutes = m[8] !== undefined ? 0 : (m[9] === '-' ? -1 : 1) * (n(10) * 60 + n(11));
  return ms * 1000 + fraction - offsetMinutes * 60_000_000;
}

const str = JSON.stringify;

/** One value as JSONCompactEachRow text for a column of `kind`; absent and null values are NULL. */
export function encodeValue(kind: Kind, value: unknown): string {
  if (value === undefined || value === null) return 'null';
  switch (kind) {
    case 'string':
      return typeof value === 'string' ? str(value) : str(str(value));
    case 'datetime': {
      const us = typeof value === 'string' ? rfc3339Micros(value) : undefined;
      return us === undefined ? str(typeof value === 'string' ? value : str(value)) : `${us}`;
    }
    case 'json':
      return str(str(value));
    default:
      // Numbers and booleans as JSON; anything else as its JSON text, which ClickHouse refuses for
      // Int64, Float64 and Bool, so the row is isolated with its message.
      return typeof value === 'number' || typeof value === 'boolean' ? `${value}` : str(str(value));
  }
}
