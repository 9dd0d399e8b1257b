/**
 * RowBinary values (https://clickhouse.com/docs/en/interfaces/formats#rowbinary), written into a
 * {@link ChunkWriter}: integers and floats little-endian, String as a LEB128 length and its bytes
 * (LowCardinality(String) the same), Nullable(T) as a 0 byte then T, Map(K, V) as a LEB128 count and
 * its pairs, DateTime64(p) as Int64 ticks, DateTime as UInt32 seconds.
 *
 * A text format lets ClickHouse check each value as it parses it; RowBinary does not (an out-of-range
 * tick is stored as some other time), so the checks are here: a value ClickHouse would not take, or
 * would store as something else, makes the row's encoder return a reason, and the row goes to the
 * dead-letter table (README "Insert format").
 */
import { ByteWriter } from '../../../index.js';

/** Why a row cannot be written; thrown inside a row encoder and caught per row (rowbinary-rows.ts). */
export class BadValue extends Error {}

const TWO_32 = 2 ** 32;
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;

/**
 * The batch codec's growable writer (its `u8`, `varint` (LEB128, as RowBinary's lengths),
 * `u32` and `f64` are RowBinary's too), cut into chunks of about `chunkBytes` at row boundaries.
 */
export class ChunkWriter extends ByteWriter {
  constructor(readonly chunkBytes = 1 << 20) {
    super(chunkBytes + (chunkBytes >> 2));
  }

  /** The bytes written so far as one chunk, when there are at least `chunkBytes` (or `force`). */
  take(force = false): Buffer | undefined {
    if (this.off === 0 || (!force && this.off < this.chunkBytes)) return undefined;
    const out = this.buf.subarray(0, this.off);
    // The chunk is handed to the request stream: later rows go into a new buffer.
    this.buf = Buffer.allocUnsafe(this.chunkBytes + (this.chunkBytes >> 2)) as typeof this.buf;
    this.off = 0;
    return out;
  }

  /** An integer in [0, 2^64), exact as a double. */
  u64(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    this.buf.writeUInt32LE(v - hi * TWO_32, this.off);
    this.buf.writeUInt32LE(hi, this.off + 4);
    this.off += 8;
  }

  /** An integer in [-2^63, 2^63). */
  i64(v: number): void {
    if (v >= 0) return this.u64(v);
    this.ensure(8);
    this.buf.writeBigInt64LE(BigInt(v), this.off);
    this.off += 8;
  }

  i64big(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(v, this.off);
    this.off += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.buf.writeFloatLE(v, this.off);
    this.off += 4;
  }

  /** A String from bytes `[start, end)` of `src` (already UTF-8: the batch stores strings so). */
  utf8(src: Buffer, start: number, end: number): void {
    const n = end > start ? end - start : 0;
    this.varint(n);
    this.ensure(n);
    const b = this.buf;
    // Buffer.copy is a native call: a loop is cheaper for the short strings most fields hold.
    if (n <= 48) for (let i = 0; i < n; i++) b[this.off + i] = src[start + i] as number;
    else src.copy(b, this.off, start, end);
    this.off += n;
  }

  /** A String from text (a span's status code, a metric's type). */
  text(s: string): void {
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.ensure(n);
    this.off += this.buf.write(s, this.off);
  }
}

/** Writes a number to a column; throws BadValue for one the column cannot hold. */
export type NumberCodec = (w: ChunkWriter, v: number, what: string) => void;

function unwrap(type: string): { inner: string; nullable: boolean } {
  let t = type;
  let nullable = false;
  for (;;) {
    const m = /^(Nullable|LowCardinality)\((.*)\)$/.exec(t);
    if (!m) return { inner: t, nullable };
    if (m[1] === 'Nullable') nullable = true;
    t = m[2] as string;
  }
}

/** Whether a column of `type` takes a String value as RowBinary writes it; Nullable needs its 0 byte. */
export function stringColumn(type: string): { nullable: boolean } | undefined {
  const { inner, nullable } = unwrap(type);
  return inner === 'String' ? { nullable } : undefined;
}

/** `Map(String, String)` (keys and values may be LowCardinality). */
export function stringMapColumn(type: string): boolean {
  const m = /^Map\((.*), (.*)\)$/.exec(type);
  return m !== null && stringColumn(m[1] as string)?.nullable === false && stringColumn(m[2] as string)?.nullable === false;
}

const integral = (v: number, what: string): void => {
  if (!Number.isInteger(v)) throw new BadValue(`${what} is ${v}, not an integer`);
};

/** A number column: UInt64, Int64, UInt32, Float64, Float32; undefined for another type. */
export function numberCodec(type: string): NumberCodec | undefined {
  switch (unwrap(type).nullable ? '' : type) {
    case 'Float64':
      return (w, v) => w.f64(v);
    case 'Float32':
      return (w, v) => w.f32(v);
    case 'UInt64':
      return (w, v, what) => {
        integral(v, what);
        if (v < 0 || v >= TWO_64) throw new BadValue(`${what} is ${v}, outside UInt64`);
        w.u64(v);
      };
    case 'Int64':
      return (w, v, what) => {
        integral(v, what);
        if (v < -TWO_63 || v >= TWO_63) throw new BadValue(`${what} is ${v}, outside Int64`);
        w.i64(v);
      };
    case 'UInt32':
      return (w, v, what) => {
        integral(v, what);
        if (v < 0 || v >= TWO_32) throw new BadValue(`${what} is ${v}, outside UInt32`);
        w.u32(v);
      };
    default:
      return undefined;
  }
}

/** `Map(String, <number>)`: the value codec. */
export function numberMapColumn(type: string): NumberCodec | undefined {
  const m = /^Map\((.*), (.*)\)$/.exec(type);
  if (!m || stringColumn(m[1] as string)?.nullable !== false) return undefined;
  return numberCodec(m[2] as string);
}

/** DateTime64's range: 1900-01-01 to 2299-12-31 (https://clickhouse.com/docs/en/sql-reference/data-types/datetime64). */
const MIN_US = -2_208_988_800 * 1e6;
const END_US = 10_413_792_000 * 1e6;

/**
 * A time column from microseconds since the epoch, with the ticks the JSON path sends
 * (schema.ts `timeEncoder`): DateTime64(p) as Int64 ticks of 10^-p s, DateTime as UInt32 seconds,
 * Int64/UInt64 as raw microseconds. Undefined for another type.
 */
export function timeCodec(type: string): NumberCodec | undefined {
  const { inner, nullable } = unwrap(type);
  if (nullable) return undefined;
  const finite = (us: number, what: string) => {
    if (!Number.isFinite(us)) throw new BadValue(`${what} is ${us}`);
  };
  const dt64 = /^DateTime64\((\d)/.exec(inner);
  if (dt64) {
    const p = Number(dt64[1]);
    const range = (us: number, what: string) => {
      finite(us, what);
      if (us < MIN_US || us >= END_US) throw new BadValue(`${what} is ${us} µs since the epoch, outside DateTime64's range (1900 to 2299)`);
    };
    if (p <= 6) {
      const divisor = 10 ** (6 - p);
      return (w, us, what) => {
        range(us, what);
        w.i64(Math.floor(us / divisor));
      };
    }
    const factor = 10n ** BigInt(p - 6);
    return (w, us, what) => {
      range(us, what);
      w.i64big(BigInt(Math.floor(us)) * factor);
    };
  }
  if (/^DateTime(\(.*\))?$/.test(inner)) {
    return (w, us, what) => {
      finite(us, what);
      const s = Math.floor(us / 1e6);
      if (s < 0 || s >= TWO_32) throw new BadValue(`${what} is ${us} µs since the epoch, outside DateTime's range (1970 to 2106)`);
      w.u32(s);
    };
  }
  const raw = numberCodec(inner);
  if (raw === undefined || inner.startsWith('Float')) return undefined;
  return (w, us, what) => {
    finite(us, what);
    raw(w, Math.floor(us), what);
  };
}
