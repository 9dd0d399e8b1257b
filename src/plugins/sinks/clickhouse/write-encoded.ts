/**
 * One delivery to a ClickHouse server in RowBinary, from the batches as queued
 * (`SinkInstance.writeEncoded`): the same inserts, order and tokens as write-batch.ts (one per
 * table with rows, `tokensOf`), but each table's body is encoded row by row straight from the batch
 * bytes into ~1 MiB chunks that the request pulls as it goes, so neither events nor the whole body
 * are ever held (README "Insert format").
 *
 * - Rows whose values ClickHouse cannot store (rowbinary.ts) are left out of the body and rejected
 *   with the reason; the choice depends only on the rows, so a replay sends the same body.
 * - When ClickHouse rejects an insert for its rows, that insert's range is isolated on the JSON path
 *   (isolate.ts), under the same tokens: the batch is decoded then, which only failures pay for.
 * - A table with a column type the RowBinary encoders do not cover is written on the JSON path.
 * - Rows are numbered per table as write-batch.ts numbers them, so tokens of parts and chunks name
 *   the same rows on both paths.
 */
import { BatchCursor, BatchField, BatchLabels, type Delivery, type EncodedBatch, type TelemetryEvent } from '../../../index.js';
import { classify } from './classify.js';
import { type Rows, withoutSources } from './encode.js';
import { type InsertOptions, type InsertTarget, insertBody, insertChunks } from './insert.js';
import { insertSpooled, spoolFile } from './insert-file.js';
import { InsertFailure, MAX_INSERT_CHARS, MAX_INSERT_ROWS, type RowRejection, writeIsolating, writeRows } from './isolate.js';
import { type Plan, planRows, unmappedReason } from './plan.js';
import { ChunkWriter } from './rowbinary.js';
import { type RowEncoder, rowEncoder, writeRow } from './rowbinary-rows.js';
import type { TableSchema } from './schema.js';
import { COLUMNS, TABLE_ROLES, type TableRole } from './tables.js';
import { type BatchOutcome, Rejections, tokensOf } from './write-batch.js';

export const ROWBINARY = 'RowBinary';

/**
 * The rows of one table in the batches, in order, one `next()` at a time (so that the body can be
 * produced as the request pulls it): the cursor is at the row's event (for span_event, at the span
 * event), `index` is that event's index in the delivery, `row` the row's number in the table.
 */
class RowWalker {
  private b = -1;
  private base = 0;
  private c: BatchCursor | undefined;
  private inSpan = false;
  private readonly kind: string;
  index = -1;
  row = -1;

  constructor(
    private readonly batches: readonly EncodedBatch[],
    private readonly role: TableRole,
    /** span_event only: spans whose events are not rows (their own row was rejected). */
    private readonly skipSpans: ReadonlySet<number> = new Set(),
  ) {
    this.kind = role === 'span_event' ? 'span' : role;
  }

  get cursor(): BatchCursor {
    return this.c as BatchCursor;
  }

  next(): boolean {
    for (;;) {
      const c = this.c;
      if (c) {
        if (this.inSpan && c.spanEventsLeft > 0) {
          c.nextSpanEvent();
          this.row++;
          return true;
        }
        this.inSpan = false;
        if (c.next()) {
          if (c.kind !== this.kind) continue;
          this.index = this.base + c.index;
          if (this.role === 'span_event') this.inSpan = !this.skipSpans.has(this.index);
          else {
            this.row++;
            return true;
          }
          continue;
        }
        this.base += (this.batches[this.b] as EncodedBatch).events;
      }
      if (++this.b >= this.batches.length) return false;
      this.c = new BatchCursor((this.batches[this.b] as EncodedBatch).data);
    }
  }
}

/**
 * What a delivery's passes over its batches found, kept while the runner holds the batches: the
 * same array reaches `prepareEncoded`, `writeEncoded` and every retry, and each pass walks every
 * event (one pass costs about as much as a tenth of encoding the rows).
 */
interface Walked {
  kinds?: ReadonlySet<string>;
  cuts: Map<TableRole, ReadonlyArray<readonly [number, number]>>;
}
const walked = new WeakMap<readonly EncodedBatch[], Walked>();

function walkedOf(batches: readonly EncodedBatch[]): Walked {
  let w = walked.get(batches);
  if (!w) walked.set(batches, (w = { cuts: new Map() }));
  return w;
}

/** The kinds of events in the batches. */
export function kindsOf(batches: readonly EncodedBatch[]): ReadonlySet<string> {
  const w = walkedOf(batches);
  if (w.kinds) return w.kinds;
  const kinds = new Set<string>();
  for (const b of batches) {
    const c = new BatchCursor(b.data);
    while (c.next()) kinds.add(c.kind);
  }
  w.kinds = kinds;
  return kinds;
}

const F = BatchField;
/** The string fields and label set each table's row copies from the batch, for `sizeOf`. */
const SIZED: Record<TableRole, { fields: readonly BatchField[]; labels?: BatchLabels }> = {
  log: { fields: [F.logService, F.logHost, F.logLevel, F.logTraceId, F.logSpanId, F.logMessage], labels: BatchLabels.log },
  span: { fields: [F.spanTraceId, F.spanId, F.spanParentId, F.spanService, F.spanName, F.spanStatusMessage], labels: BatchLabels.spanAttr },
  span_event: { fields: [F.spanTraceId, F.spanId, F.spanEventName], labels: BatchLabels.spanEventAttr },
  metric: { fields: [F.metricName], labels: BatchLabels.metric },
  event: { fields: [F.eventType, F.eventService, F.eventSeverity, F.eventPayload] },
};

/**
 * An upper bound of a row's RowBinary size from the byte ranges alone (no encoding), to cut inserts
 * within isolate.ts's limits: 64 bytes for the numbers and each pair's key, 5 per length prefix.
 */
function sizeOf(c: BatchCursor, role: TableRole): number {
  const { fields, labels } = SIZED[role];
  let n = 64 + (role === 'metric' && c.metricType === 'histogram' ? c.bucketCount * 64 : 0);
  for (const f of fields) n += Math.max(0, (c.ends[f] as number) - (c.starts[f] as number)) + 5;
  if (labels !== undefined) {
    const set = c.labels(labels);
    for (let i = 0; i < set.size; i++) n += (set.ends[i] as number) - (set.starts[i] as number) + 64;
  }
  return n;
}

/**
 * The ranges of rows sent as one insert each: within isolate.ts's limits, the same on every replay.
 * With the default limits and no spans to skip, they are worked out once per batches array.
 */
export function cuts(
  batches: readonly EncodedBatch[],
  role: TableRole,
  skipSpans: ReadonlySet<number>,
  maxBytes = MAX_INSERT_CHARS,
  maxRows = MAX_INSERT_ROWS,
): ReadonlyArray<readonly [number, number]> {
  const kept = skipSpans.size === 0 && maxBytes === MAX_INSERT_CHARS && maxRows === MAX_INSERT_ROWS ? walkedOf(batches).cuts : undefined;
  const known = kept?.get(role);
  if (known) return known;
  const parts = cutRows(batches, role, skipSpans, maxBytes, maxRows);
  kept?.set(role, parts);
  return parts;
}

function cutRows(batches: readonly EncodedBatch[], role: TableRole, skipSpans: ReadonlySet<number>, maxBytes: number, maxRows: number): Array<[number, number]> {
  const parts: Array<[number, number]> = [];
  const walk = new RowWalker(batches, role, skipSpans);
  let lo = 0;
  let bytes = 0;
  while (walk.next()) {
    const size = sizeOf(walk.cursor, role);
    if (walk.row > lo && (bytes + size > maxBytes || walk.row - lo >= maxRows)) {
      parts.push([lo, walk.row]);
      lo = walk.row;
      bytes = 0;
    }
    bytes += size;
  }
  if (walk.row + 1 > lo) parts.push([lo, walk.row + 1]);
  return parts;
}

/** Rows the encoder refused, by row and event index. */
export type Refused = Array<RowRejection & { index: number }>;

/** Rows `[lo, hi)` as RowBinary chunks, each produced when the request asks for it; refused rows go to `refused`. */
function* chunksOf(walk: RowWalker, encode: RowEncoder, lo: number, hi: number, refused: Refused, table: string): Generator<Buffer> {
  const w = new ChunkWriter();
  while (walk.row + 1 < hi && walk.next()) {
    if (walk.row < lo) continue;
    const reason = writeRow(encode, walk.cursor, w);
    if (reason !== undefined) refused.push({ row: walk.row, index: walk.index, reason: `the row cannot be stored in ${table}: ${reason}` });
    const chunk = w.take();
    if (chunk) yield chunk;
  }
  const last = w.take(true);
  if (last) yield last;
}

/** All rows of `role` as RowBinary chunks, or undefined for a table on the JSON path (bench/clickhouse-formats.ts). */
export function rowBinaryChunks(batches: readonly EncodedBatch[], role: TableRole, schema: TableSchema, refused: Refused = []): Generator<Buffer> | undefined {
  const encode = rowEncoder(role, schema);
  return encode && chunksOf(new RowWalker(batches, role), encode, 0, Infinity, refused, schema.table);
}

/** A table's rows `[lo, hi)` spooled for the embedded engine, and the rows the encoder refused. */
export interface SpooledPart {
  readonly file: string;
  readonly refused: Refused;
}

/** Spools rows `[lo, hi)` of `role` (not span_event, whose rows depend on the spans' outcome). */
export async function spoolPart(
  batches: readonly EncodedBatch[],
  role: Exclude<TableRole, 'span_event'>,
  schema: TableSchema,
  lo: number,
  hi: number,
  dir: string,
): Promise<SpooledPart | undefined> {
  const encode = rowEncoder(role, schema);
  return encode && spoolRows(new RowWalker(batches, role), encode, lo, hi, schema.table, dir);
}

/** Rows `[lo, hi)` of the walk, as RowBinary, to a new file in `dir`. */
async function spoolRows(walk: RowWalker, encode: RowEncoder, lo: number, hi: number, table: string, dir: string): Promise<SpooledPart> {
  const refused: Refused = [];
  const file = await spoolFile(chunksOf(walk, encode, lo, hi, refused, table), dir);
  return { file, refused };
}

/**
 * The bodies of a delivery spooled before its write (spool-ahead.ts), for the embedded engine;
 * a part not found there is spooled by the write itself.
 */
export interface SpooledAhead {
  /** The part spooled for these rows with this schema, if any; the caller inserts it, which removes the file. */
  take(role: TableRole, lo: number, hi: number, schema: TableSchema): Promise<SpooledPart | undefined>;
  /** Called as each insert begins: the bodies spooled so far are no longer being written. */
  inserting(): void;
}

export async function writeEncodedBatch(
  batches: readonly EncodedBatch[],
  delivery: Delivery,
  target: InsertTarget,
  schemas: ReadonlyMap<TableRole, TableSchema>,
  options: InsertOptions,
  decode: () => TelemetryEvent[],
  /** The embedded engine: where its RowBinary bodies are spooled (insert-file.ts). */
  spoolDir = '',
  ahead?: SpooledAhead,
): Promise<BatchOutcome> {
  const kinds = kindsOf(batches);
  const reasons = new Rejections(schemas);
  for (const kind of kinds) {
    const role = kind as TableRole;
    if (schemas.has(role) && (kind !== 'span' || schemas.has('span_event'))) continue;
    for (const walk = new RowWalker(batches, role); walk.next(); ) reasons.add(walk.index, unmappedReason(kind));
  }
  let plan: Plan | undefined;
  const jsonRows = (role: TableRole): Rows | undefined => {
    plan ??= planRows(decode(), schemas);
    const rows = plan.rows.get(role);
    return rows && role === 'span_event' && reasons.spans.size > 0 ? withoutSources(rows, reasons.spans) : rows;
  };
  let rows = 0;
  let splitInserts = 0;
  for (const role of TABLE_ROLES) {
    const schema = schemas.get(role);
    if (!schema || !kinds.has(role === 'span_event' ? 'span' : role) || (role === 'span' && !schemas.has('span_event'))) continue;
    const table = schema.table;
    const tokenOf = tokensOf(delivery, table);
    const sendJson = (body: string, token: string) => insertBody(target, table, COLUMNS[role], body, token, options);
    const encode = rowEncoder(role, schema);
    if (!encode) {
      const r = jsonRows(role);
      if (!r || r.sources.length === 0) continue;
      const outcome = await writeRows(table, r, tokenOf, sendJson);
      splitInserts += outcome.splitInserts;
      rows += r.sources.length - outcome.rejected.length;
      for (const { row, reason } of outcome.rejected) reasons.fromTable(role, r.sources[row] as number, reason);
      continue;
    }
    const skipSpans = role === 'span_event' ? new Set(reasons.spans) : new Set<number>();
    const parts = cuts(batches, role, skipSpans);
    for (const [lo, hi] of parts) {
      const token = parts.length === 1 ? tokenOf() : tokenOf([lo, hi]);
      const refused: Refused = [];
      const walk = new RowWalker(batches, role, skipSpans);
      try {
        if (target.kind === 'server') await insertChunks(target, table, COLUMNS[role], chunksOf(walk, encode, lo, hi, refused, table), token, options, ROWBINARY);
        else {
          const spooled = (await ahead?.take(role, lo, hi, schema)) ?? (await spoolRows(walk, encode, lo, hi, table, spoolDir));
          refused.push(...spooled.refused);
          ahead?.inserting();
          await insertSpooled(target, table, COLUMNS[role], schema.types, spooled.file, token, options);
        }
      } catch (err) {
        const failure = classify(err);
        if (failure.kind !== 'rows') throw new InsertFailure(failure, table, { cause: err });
        // Isolate this insert's rows on the JSON path, from the same range and token.
        const r = jsonRows(role) as Rows;
        const outcome = await writeIsolating(table, r, tokenOf, sendJson, lo, hi);
        splitInserts += outcome.splitInserts + 1;
        rows += hi - lo - outcome.rejected.length;
        for (const { row, reason } of outcome.rejected) reasons.fromTable(role, r.sources[row] as number, reason);
        continue;
      }
      rows += hi - lo - refused.length;
      for (const { index, reason } of refused) reasons.fromTable(role, index, reason);
    }
  }
  return { rejected: reasons.list(), rows, splitInserts };
}
