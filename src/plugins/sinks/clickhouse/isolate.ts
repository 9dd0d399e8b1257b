/**
 * Writes one table's rows, isolating the rows ClickHouse cannot store. An INSERT is
 * all-or-nothing (a delivery stays below `min_insert_block_size_rows`/`_bytes`, so it is one
 * block), so a parse or type error in one row fails all of them. The failing range is split and
 * the parts retried until each bad row stands alone; good rows are written, bad ones are returned
 * with ClickHouse's own message (the runtime dead-letters them).
 *
 * - Where to split: ClickHouse names the failing row of a parse error ("(at row 4)"), so the range
 *   is cut around that row, and the rest is halved. A row is rejected only after it failed on its
 *   own, so a wrong hint costs inserts, never a good row; after one wrong hint, plain halving.
 * - Exactly once: each part is inserted with its own token, `<delivery token>:<table>:<lo>-<hi>`. The
 *   splits depend only on the rows and on ClickHouse's answers, so a replay after a crash retraces
 *   them and the parts already written are dropped as duplicates.
 * - Bounded: at most ISOLATION_BUDGET inserts per table per delivery (per chunk of a huge one),
 *   kept well under the tables' deduplication window (1000 blocks, migrations/clickhouse) so that
 *   a replay still finds every part's token. A batch with more bad rows than that can isolate has
 *   its remaining failing or untried ranges rejected whole, with a reason saying so: kept in the
 *   dead-letter table, not lost.
 */
import { type Failure, classify, describeCode, failedRow } from './classify.js';
import { type Rows, rowRange } from './encode.js';

export const ISOLATION_BUDGET = 200;
const MAX_REASON_CHARS = 2000;

export interface RowRejection {
  readonly row: number;
  readonly reason: string;
}

export interface IsolatedWrite {
  readonly rejected: RowRejection[];
  /** Inserts made to isolate bad rows (0 when the first insert succeeded). */
  readonly splitInserts: number;
}

/** A failure that is not about the rows: the caller turns it into a retryable (or unclassified) error. */
export class InsertFailure extends Error {
  constructor(
    readonly failure: Failure,
    readonly table: string,
    options?: { cause?: unknown },
  ) {
    super(failure.message, options);
    this.name = 'InsertFailure';
  }
}

/** Sends rows `body` with `token`; throws what the client throws. */
export type SendRows = (body: string, token: string) => Promise<void>;

/**
 * The deduplication token of a table's insert: without a range for all its rows, with `[lo, hi)`
 * for a part of them (write-batch.ts derives both from the delivery).
 */
export type PartToken = (range?: readonly [number, number]) => string;

function halves(lo: number, hi: number): Array<[number, number]> {
  if (hi - lo <= 1) return [[lo, hi]];
  const mid = lo + Math.floor((hi - lo) / 2);
  return [
    [lo, mid],
    [mid, hi],
  ];
}

function rejectionReason(table: string, f: Failure): string {
  const text = `ClickHouse rejected the row in ${table} (${describeCode(f)}): ${f.message}`;
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
}

/**
 * Bodies above these are sent as several inserts (token `tokenOf([lo, hi])`, cut at the same rows on
 * every replay): ClickHouse makes one block of an insert only up to `max_insert_block_size` rows
 * (1,048,449) and `min_insert_block_size_bytes` (256 MiB); past them an insert may write some blocks
 * and then fail, and the parts isolated afterwards would repeat those rows.
 */
export const MAX_INSERT_CHARS = 64 * 1024 * 1024;
export const MAX_INSERT_ROWS = 500_000;

/** Rows cut into ranges within both limits (a row longer than `maxChars` stands alone). */
export function chunks(rows: Rows, maxChars = MAX_INSERT_CHARS, maxRows = MAX_INSERT_ROWS): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const count = rows.sources.length;
  let lo = 0;
  for (let hi = 1; hi <= count; hi++) {
    const next = hi < count ? (rows.offsets[hi + 1] as number) : Infinity;
    if (hi === count || next - (rows.offsets[lo] as number) > maxChars || hi - lo >= maxRows) {
      out.push([lo, hi]);
      lo = hi;
    }
  }
  return out;
}

/** Writes every row of `rows`, in chunks, isolating bad rows; `tokenOf` names the table's inserts. */
export async function writeRows(table: string, rows: Rows, tokenOf: PartToken, send: SendRows): Promise<IsolatedWrite> {
  const parts = chunks(rows);
  if (parts.length === 1) return writeIsolating(table, rows, tokenOf, send);
  const rejected: RowRejection[] = [];
  let splitInserts = 0;
  for (const [lo, hi] of parts) {
    const outcome = await writeIsolating(table, rows, tokenOf, send, lo, hi);
    rejected.push(...outcome.rejected);
    splitInserts += outcome.splitInserts;
  }
  return { rejected, splitInserts };
}

/**
 * Rows `[lo, hi)`: the whole of `rows` goes under `tokenOf()`, a chunk under `tokenOf([lo, hi])`,
 * and each isolated part under `tokenOf([a, b])`, a strict sub-range of its chunk, so no two
 * inserts of a delivery share a token.
 */
export async function writeIsolating(table: string, rows: Rows, tokenOf: PartToken, send: SendRows, start = 0, end = rows.sources.length): Promise<IsolatedWrite> {
  const attempt = async (lo: number, hi: number, partToken: string): Promise<Failure | undefined> => {
    try {
      await send(rowRange(rows, lo, hi), partToken);
      return undefined;
    } catch (err) {
      const failure = classify(err);
      if (failure.kind !== 'rows') throw new InsertFailure(failure, table, { cause: err });
      return failure;
    }
  };

  const whole = start === 0 && end === rows.sources.length;
  const first = await attempt(start, end, whole ? tokenOf() : tokenOf([start, end]));
  if (!first) return { rejected: [], splitInserts: 0 };

  const rejected: RowRejection[] = [];
  let budget = ISOLATION_BUDGET;
  let trustHints = true;
  const rejectAll = (lo: number, hi: number, f: Failure) => {
    const reason = `not written: the delivery had more bad rows than the sink isolates (${ISOLATION_BUDGET} inserts per table); this part of it failed with ${rejectionReason(table, f)}`;
    for (let r = lo; r < hi; r++) rejected.push({ row: r, reason });
  };

  const isolate = async (lo: number, hi: number, failure: Failure): Promise<void> => {
    if (hi - lo === 1) {
      rejected.push({ row: lo, reason: rejectionReason(table, failure) });
      return;
    }
    const hint = trustHints ? failedRow(failure) : undefined;
    const suspect = hint !== undefined && hint >= 1 && hint <= hi - lo ? lo + hint - 1 : undefined;
    const parts: Array<[number, number]> = suspect === undefined ? halves(lo, hi) : [[lo, suspect], [suspect, suspect + 1], ...halves(suspect + 1, hi)];
    for (const [a, b] of parts) {
      if (a >= b) continue;
      if (budget <= 0) {
        rejectAll(a, b, failure);
        continue;
      }
      budget--;
      const f = await attempt(a, b, tokenOf([a, b]));
      if (f) await isolate(a, b, f);
      else if (a === suspect) trustHints = false;
    }
  };

  await isolate(start, end, first);
  rejected.sort((x, y) => x.row - y.row);
  return { rejected, splitInserts: ISOLATION_BUDGET - budget };
}
