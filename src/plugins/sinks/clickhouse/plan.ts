/**
 * Splits a delivery into the rows of each table: logs → `log`, spans → one `span` row each plus one
 * `span_event` row per entry of `events` (carrying the span's ids), metrics and business events →
 * their tables when mapped. A kind without a table is rejected (dead-lettered) with a reason that
 * says which option maps it, rather than dropped.
 */
import type { RejectedRow, TelemetryEvent } from '../../../index.js';
import { RowsBuilder, type Rows, businessEventRow, logRow, metricRow, spanEventRow, spanRow } from './encode.js';
import type { TableSchema } from './schema.js';
import type { TableRole } from './tables.js';

export interface Plan {
  /** Rows per role, only for roles that have rows in this delivery. */
  readonly rows: ReadonlyMap<TableRole, Rows>;
  /** Events no table accepts. */
  readonly rejected: RejectedRow[];
}

/** Why an event of `kind` is rejected when no table takes it. */
export function unmappedReason(kind: string): string {
  if (kind === 'metric' || kind === 'event') {
    return `the clickhouse sink has no table for "${kind}" events: set tables.${kind} (see the sink's README), or route them to another sink`;
  }
  return `unknown event kind ${JSON.stringify(kind)}`;
}

/**
 * `genericEvent` says whether the business event at an index is one for `tables.event` (default:
 * all of them). With typed tables, the others are left to the typed tables or skipped, not rejected.
 */
export function planRows(events: readonly TelemetryEvent[], schemas: ReadonlyMap<TableRole, TableSchema>, genericEvent?: (index: number) => boolean): Plan {
  const builders = new Map<TableRole, RowsBuilder>();
  const builder = (role: TableRole) => {
    let b = builders.get(role);
    if (!b) builders.set(role, (b = new RowsBuilder()));
    return b;
  };
  const rejected: RejectedRow[] = [];
  const log = schemas.get('log');
  const span = schemas.get('span');
  const spanEvent = schemas.get('span_event');
  const metric = schemas.get('metric');
  const event = schemas.get('event');
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as TelemetryEvent;
    switch (e.kind) {
      case 'log':
        if (log) builder('log').add(logRow(e, log), i);
        else rejected.push({ index: i, reason: unmappedReason(e.kind) });
        break;
      case 'span':
        if (span && spanEvent) {
          builder('span').add(spanRow(e, span), i);
          // A span without events (or with a malformed `events`) contributes no span_event rows.
          if (Array.isArray(e.events)) for (const entry of e.events) builder('span_event').add(spanEventRow(e, entry, spanEvent), i);
        } else rejected.push({ index: i, reason: unmappedReason(e.kind) });
        break;
      case 'metric':
        if (metric) builder('metric').add(metricRow(e, metric), i);
        else rejected.push({ index: i, reason: unmappedReason(e.kind) });
        break;
      case 'event':
        if (genericEvent !== undefined && !genericEvent(i)) break;
        if (event) builder('event').add(businessEventRow(e, event), i);
        else rejected.push({ index: i, reason: unmappedReason(e.kind) });
        break;
      default:
        rejected.push({ index: i, reason: unmappedReason((e as { kind?: unknown }).kind as string) });
    }
  }
  const rows = new Map<TableRole, Rows>();
  for (const [role, b] of builders) rows.set(role, b.build());
  return { rows, rejected };
}
