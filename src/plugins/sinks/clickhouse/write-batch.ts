/**
 * One delivery: one INSERT per table that has rows, in TABLE_ROLES order, each with the token
 * `delivery.token(table)`, and parts of a table (chunks, isolated rows) with
 * `delivery.token(table, "<lo>-<hi>")` (see `tokensOf`; docs/storage.md#exactly-once-delivery).
 * The delivery is equal across replays (the runtime pins its range before the first attempt), so
 * when an attempt fails half-way (logs written, spans not) the retry re-sends the logs under the
 * same token and ClickHouse drops them as duplicates. Typed business event tables come last, each
 * under its own table's tokens. Inserts run one after another: the order is what makes the span_events rows of a
 * span whose own row was rejected known before they are sent.
 */
import type { Delivery, RejectedRow, TelemetryEvent } from '../../../index.js';
import { withoutSources } from './encode.js';
import { type InsertOptions, type InsertTarget, insertBody } from './insert.js';
import { type PartToken, writeRows } from './isolate.js';
import { planRows } from './plan.js';
import type { TableSchema } from './schema.js';
import { COLUMNS, TABLE_ROLES, type TableRole } from './tables.js';
import type { TypedPlan } from './typed-tables.js';

export interface BatchOutcome {
  /** Sorted by index; at most one entry per event. */
  readonly rejected: RejectedRow[];
  /** Rows written, all tables together. */
  readonly rows: number;
  /** Extra inserts made to isolate bad rows. */
  readonly splitInserts: number;
}

/** The one place the sink's insert tokens are derived from a delivery. */
export function tokensOf(delivery: Delivery, table: string): PartToken {
  return (range) => (range ? delivery.token(table, `${range[0]}-${range[1]}`) : delivery.token(table));
}

/** Business events with typed tables (typed-tables.ts), written after the kinds' tables. */
export interface TypedWrite {
  readonly plan: TypedPlan;
  /** Whether the event at an index also goes to `tables.event` (see planRows). */
  readonly genericEvent: (index: number) => boolean;
}

/** The rejected events of a delivery and why, the first reason of each kept. */
export class Rejections {
  private readonly reasons = new Map<number, string>();
  /** Spans whose own row was rejected: their events are not written (see writeBatch). */
  readonly spans = new Set<number>();

  constructor(private readonly schemas: ReadonlyMap<TableRole, TableSchema>) {}

  add(index: number, reason: string): void {
    if (!this.reasons.has(index)) this.reasons.set(index, reason);
  }

  /** A row of `role`'s table that ClickHouse (or the encoder) rejected. */
  fromTable(role: TableRole, index: number, reason: string): void {
    if (role === 'span') this.spans.add(index);
    // The span's own row is already in `spans`; say so, since replaying the dead letter repeats it.
    this.add(
      index,
      role === 'span_event' ? `one of the span's events was rejected (the span's row in ${this.schemas.get('span')?.table ?? 'spans'} was written): ${reason}` : reason,
    );
  }

  list(): RejectedRow[] {
    return [...this.reasons].map(([index, reason]) => ({ index, reason })).sort((a, b) => a.index - b.index);
  }
}

export async function writeBatch(
  events: readonly TelemetryEvent[],
  delivery: Delivery,
  target: InsertTarget,
  schemas: ReadonlyMap<TableRole, TableSchema>,
  options: InsertOptions,
  typed?: TypedWrite,
): Promise<BatchOutcome> {
  const plan = planRows(events, schemas, typed?.genericEvent);
  const reasons = new Rejections(schemas);
  for (const r of [...plan.rejected, ...(typed?.plan.rejected ?? [])]) reasons.add(r.index, r.reason);
  let rows = 0;
  let splitInserts = 0;
  for (const role of TABLE_ROLES) {
    let tableRows = plan.rows.get(role);
    const schema = schemas.get(role);
    if (!tableRows || !schema) continue;
    // A rejected span goes to the dead-letter table whole, events included: writing its events
    // anyway would duplicate them when the dead-lettered span is replayed.
    if (role === 'span_event' && reasons.spans.size > 0) tableRows = withoutSources(tableRows, reasons.spans);
    if (tableRows.sources.length === 0) continue;
    const send = (body: string, partToken: string) => insertBody(target, schema.table, COLUMNS[role], body, partToken, options);
    const outcome = await writeRows(schema.table, tableRows, tokensOf(delivery, schema.table), send);
    splitInserts += outcome.splitInserts;
    rows += tableRows.sources.length - outcome.rejected.length;
    for (const { row, reason } of outcome.rejected) reasons.fromTable(role, tableRows.sources[row] as number, reason);
  }
  // Typed tables: same tokens and isolation. An event rejected here that was written to
  // tables.event goes to the dead-letter table whole, like a span with a rejected event.
  for (const t of typed?.plan.tables ?? []) {
    const send = (body: string, partToken: string) => insertBody(target, t.table, t.columns, body, partToken, options);
    const outcome = await writeRows(t.table, t.rows, tokensOf(delivery, t.table), send);
    splitInserts += outcome.splitInserts;
    rows += t.rows.sources.length - outcome.rejected.length;
    for (const { row, reason } of outcome.rejected) reasons.add(t.rows.sources[row] as number, reason);
  }
  return { rejected: reasons.list(), rows, splitInserts };
}
