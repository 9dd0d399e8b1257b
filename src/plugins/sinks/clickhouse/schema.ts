/**
 * What the sink needs to know about a mapped table before it writes: that it has every column the
 * sink fills, and how to write its time columns. Times are sent as integer ticks of the column's
 * own precision: ticks are epoch-based, so they do not depend on the column's or the server's time
 * zone (a 'YYYY-MM-DD hh:mm:ss' string would), and JSON rejects fractional seconds for DateTime64
 * (code 27, verified on chdb). A `DateTime64(3)` column counts milliseconds, `DateTime64(6)`
 * microseconds, `DateTime` seconds: sending one precision's ticks to another would shift every
 * timestamp by a factor of 1000, silently, hence the lookup instead of assuming the seed's types.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { ThermoclineError } from '../../../index.js';
import { COLUMNS, SPAN_END_COLUMN, TIME_COLUMN, type TableRole } from './tables.js';
import { CLICKHOUSE_SINK_ERRORS } from './errors.js';

/** Encodes microseconds since the epoch as the column's ticks, as JSON text. */
export type TimeEncoder = (us: number) => string;

export interface TableSchema {
  readonly role: TableRole;
  readonly table: string;
  /** Column name → ClickHouse type, as DESCRIBE reports it. */
  readonly types: ReadonlyMap<string, string>;
  readonly time: TimeEncoder;
  /** Spans only: `end_time`. */
  readonly endTime: TimeEncoder;
}

/**
 * Non-integers and non-finite values are written as they are (`NaN`, `1e+22`): ClickHouse rejects
 * them and the row is isolated with its message, rather than stored as a made-up time.
 */
export function timeEncoder(type: string | undefined): TimeEncoder {
  const inner = unwrap(type ?? '');
  const dt64 = /^DateTime64\((\d)/.exec(inner);
  const precision = dt64 ? Number(dt64[1]) : /^DateTime\b/.test(inner) ? 0 : undefined;
  // A column of another type (e.g. Int64) holds raw microseconds.
  if (precision === undefined || precision === 6) return (us) => `${Math.floor(us)}`;
  if (precision < 6) {
    const divisor = 10 ** (6 - precision);
    return (us) => `${Math.floor(us / divisor)}`;
  }
  // Nanosecond ticks pass 2^53: append zeros to the text instead of multiplying.
  const zeros = '0'.repeat(precision - 6);
  return (us) => `${Math.floor(us)}${zeros}`;
}

function unwrap(type: string): string {
  const m = /^(?:Nullable|LowCardinality)\((.*)\)$/.exec(type);
  return m ? unwrap(m[1] as string) : type;
}

/** Reads a mapped table's columns; fails with TC_CH_SCHEMA_MISMATCH when one the sink fills is missing. */
export async function loadTableSchema(client: ClickHouseClient, database: string, table: string, role: TableRole): Promise<TableSchema> {
  const result = await client.query({ query: `DESCRIBE TABLE ${database}.${table}`, format: 'JSONEachRow' });
  const rows = await result.json<{ name: string; type: string }>();
  const types = new Map(rows.map((r) => [r.name, r.type]));
  const missing = COLUMNS[role].filter((c) => !types.has(c));
  if (missing.length > 0) {
    throw new ThermoclineError(
      CLICKHOUSE_SINK_ERRORS.TC_CH_SCHEMA_MISMATCH,
      `table ${database}.${table} (for ${role} events) lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    );
  }
  return { role, table, types, time: timeEncoder(types.get(TIME_COLUMN[role])), endTime: timeEncoder(types.get(SPAN_END_COLUMN)) };
}
