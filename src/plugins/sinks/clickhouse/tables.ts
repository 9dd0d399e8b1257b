/**
 * The columns the sink fills in each kind of table (docs/ARCHITECTURE.md#events). The seed tables
 * come from migrations/clickhouse; `metric` and `event` tables are the user's (README). A mapped
 * table may have more columns (they get their defaults) but must have these.
 */
import type { TableMapping } from './config.js';

export type TableRole = 'log' | 'span' | 'span_event' | 'metric' | 'event';

/** Insert order: a span's row goes in before its events' rows (see write-batch.ts). */
export const TABLE_ROLES: readonly TableRole[] = ['log', 'span', 'span_event', 'metric', 'event'];

/**
 * Column names per role, in the order the encoder writes them: the numeric columns (times first)
 * lead, so that the rest of a row is one JSON.stringify of an array (encode.ts).
 */
export const COLUMNS: Readonly<Record<TableRole, readonly string[]>> = {
  log: ['timestamp', 'service', 'host', 'level', 'trace_id', 'span_id', 'message', 'labels'],
  span: ['start_time', 'end_time', 'duration_ns', 'trace_id', 'span_id', 'parent_span_id', 'service', 'name', 'status_code', 'status_message', 'attr'],
  span_event: ['ts', 'trace_id', 'span_id', 'name', 'attr'],
  metric: ['time', 'value', 'count', 'sum', 'metric_name', 'type', 'labels', 'buckets'],
  event: ['ts', 'type', 'service', 'severity', 'payload'],
};

/**
 * Columns holding a point in time. Their ticks depend on the column's type (DateTime64(3) counts
 * milliseconds, DateTime64(6) microseconds), so the encoder scales them per table (schema.ts).
 */
export const TIME_COLUMN: Readonly<Record<TableRole, string>> = {
  log: 'timestamp',
  span: 'start_time',
  span_event: 'ts',
  metric: 'time',
  event: 'ts',
};
/** Spans have a second time column. */
export const SPAN_END_COLUMN = 'end_time';

/** The roles a delivery writes to (before the tables' schemas are read). */
export function rolesOf(events: readonly { kind: string }[]): Set<TableRole> {
  const roles = new Set<TableRole>();
  for (const e of events) {
    if (e.kind === 'span') {
      roles.add('span');
      roles.add('span_event');
    } else if (e.kind === 'log' || e.kind === 'metric' || e.kind === 'event') roles.add(e.kind);
    if (roles.size === TABLE_ROLES.length) break;
  }
  return roles;
}

/** The mapped tables, by role; unmapped optional roles are absent. */
export function mappedTables(tables: TableMapping): Map<TableRole, string> {
  const out = new Map<TableRole, string>();
  for (const role of TABLE_ROLES) {
    const name = tables[role];
    if (name !== undefined) out.set(role, name);
  }
  return out;
}
