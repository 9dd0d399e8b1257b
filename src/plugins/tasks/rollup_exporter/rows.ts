/**
 * Turns PostgreSQL `COPY … TO STDOUT` text rows of the export query into ClickHouse TabSeparated
 * rows, touching only what must change:
 *
 * - `labels`: PostgreSQL prints jsonb with keys ordered by length first (`{"job": "x", "instance":
 *   "y"}`); ClickHouse `metrics_1m.labels` holds the canonical JSON every writer of this project
 *   uses, keys in code-unit order and no spaces (`canonicalLabelsJson`,
 *   docs/ARCHITECTURE.md#events). Each distinct label set is converted once and cached, since a
 *   series repeats in every bucket.
 * - `version` is appended as the last column: a row cut short by a broken stream then either
 *   fails to parse or carries a truncated, smaller version that loses to every complete export
 *   (ReplacingMergeTree keeps the highest version), never a wrong value with a winning version.
 *
 * The other columns pass through as bytes: PostgreSQL's text COPY escapes (`\\`, `\t`, `\n`, `\r`,
 * `\b`, `\f`, `\v`) are exactly the escapes ClickHouse's TabSeparated reads, and the numbers are
 * printed by PostgreSQL in their shortest exact form (extra_float_digits = 1), which ClickHouse
 * parses back to the same double with precise_float_parsing (insert.ts).
 */
import { canonicalLabelsJson, type Labels } from '../../../index.js';

const TAB = 0x09;
const NEWLINE = 0x0a;

/** Unescapes one field of PostgreSQL's text COPY format. */
export function unescapeCopyText(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/g, (_, c: string) => {
    switch (c) {
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'v':
        return '\v';
      default:
        return c;
    }
  });
}

const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\b': '\\b', '\f': '\\f', '\v': '\\v', '\0': '\\0' };

/** Escapes a string for a ClickHouse TabSeparated field. */
export function escapeTsv(value: string): string {
  return value.replace(/[\\\t\n\r\b\f\v\0]/g, (c) => TSV_ESCAPES[c] as string);
}

/** The canonical JSON of a jsonb label set as PostgreSQL prints it. */
export function canonicalLabelsFromJsonb(jsonbText: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonbText);
  } catch {
    throw new Error(`metrics_1m.labels is not JSON: ${jsonbText.slice(0, 200)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`metrics_1m.labels is not a JSON object: ${jsonbText.slice(0, 200)}`);
  }
  return canonicalLabelsJson(parsed as Labels);
}

/** One converted label set: the raw COPY bytes and the escaped canonical bytes. */
interface LabelsEntry {
  readonly raw: Buffer;
  readonly out: Buffer;
}

/**
 * Label sets converted so far, keyed by a hash of their raw COPY bytes (computed while the row is
 * scanned, so a lookup allocates nothing) and checked byte for byte. Bounded: it is emptied when
 * full.
 */
export class LabelsCache {
  private readonly map = new Map<number, LabelsEntry[]>();
  private size = 0;
  constructor(private readonly maxEntries = 200_000) {}

  get(data: Buffer, start: number, end: number, hash: number): Buffer {
    const bucket = this.map.get(hash);
    if (bucket !== undefined) {
      for (const entry of bucket) if (sameBytes(entry.raw, data, start, end)) return entry.out;
    }
    const text = unescapeCopyText(data.toString('utf8', start, end));
    const entry = { raw: Buffer.from(data.subarray(start, end)), out: Buffer.from(escapeTsv(canonicalLabelsFromJsonb(text)), 'utf8') };
    if (this.size >= this.maxEntries) {
      this.map.clear();
      this.size = 0;
    }
    const list = this.map.get(hash);
    if (list) list.push(entry);
    else this.map.set(hash, [entry]);
    this.size++;
    return entry.out;
  }
}

function sameBytes(a: Buffer, data: Buffer, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== data[start + i]) return false;
  return true;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Rewrites a stream of COPY text rows `bucket \t metric_name \t labels \t avg \t max \t min` into
 * TabSeparated rows with canonical labels and `version` appended. Rows may span chunks.
 *
 * Written as plain loops over the bytes: rows are ~150 bytes, and per-row calls into Buffer's
 * native methods (indexOf, copy, toString) cost more than the bytes themselves (measured: 4.5 µs
 * a row with them, a fraction of that without).
 */
export class RowRewriter {
  rows = 0;
  bytesOut = 0;
  private rest: Buffer | undefined;
  private readonly suffix: Buffer;

  constructor(
    version: number,
    private readonly labels: LabelsCache,
  ) {
    this.suffix = Buffer.from(`\t${version}\n`, 'latin1');
  }

  push(chunk: Buffer): Buffer {
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    const n = data.length;
    const suffix = this.suffix;
    const suffixLength = suffix.length;
    // A row is at least 14 bytes ("0\ta\t{}\t0\t0\t0\n"), and canonical labels are never longer
    // than PostgreSQL's spaced form; the check before each label copy keeps this safe regardless.
    let out = Buffer.allocUnsafe(n + Math.ceil(n / 14) * suffixLength + 256);
    let o = 0;
    let s = 0;
    let rows = 0;
    rowLoop: while (s < n) {
      const rowStart = o;
      let i = s;
      // bucket and metric_name: copied as they are, up to and including the second tab.
      for (let tabs = 0; tabs < 2; i++) {
        if (i >= n) {
          o = rowStart;
          break rowLoop;
        }
        const c = data[i] as number;
        if (c === NEWLINE) throw new Error(`unexpected row from the export query: ${data.toString('utf8', s, Math.min(i, s + 200))}`);
        if (c === TAB) tabs++;
        out[o++] = c;
      }
      // labels: hashed while looking for its end.
      const labelsStart = i;
      let hash = FNV_OFFSET;
      for (;;) {
        if (i >= n) {
          o = rowStart;
          break rowLoop;
        }
        const c = data[i] as number;
        if (c === TAB) break;
        if (c === NEWLINE) throw new Error(`unexpected row from the export query: ${data.toString('utf8', s, Math.min(i, s + 200))}`);
        hash = Math.imul(hash ^ c, FNV_PRIME);
        i++;
      }
      const canon = this.labels.get(data, labelsStart, i, hash);
      if (o + canon.length + (n - i) + suffixLength > out.length) {
        const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, o + canon.length + (n - i) + suffixLength));
        out.copy(bigger, 0, 0, o);
        out = bigger;
      }
      for (let k = 0; k < canon.length; k++) out[o++] = canon[k] as number;
      // The three numbers, up to the end of the line, then the version.
      for (;;) {
        if (i >= n) {
          o = rowStart;
          break rowLoop;
        }
        const c = data[i++] as number;
        if (c === NEWLINE) break;
        out[o++] = c;
      }
      for (let k = 0; k < suffixLength; k++) out[o++] = suffix[k] as number;
      rows++;
      s = i;
    }
    if (s < n) this.rest = Buffer.from(data.subarray(s));
    this.rows += rows;
    this.bytesOut += o;
    return out.subarray(0, o);
  }

  /** Throws if the input ended in the middle of a row. */
  finish(): void {
    if (this.rest && this.rest.length > 0) throw new Error('the export query ended in the middle of a row');
  }
}
