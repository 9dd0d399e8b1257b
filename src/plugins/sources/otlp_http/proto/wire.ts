import protobuf from 'protobufjs/minimal.js';

/**
 * Wire-level helpers on top of protobufjs's `Reader` (the maintained varint, fixed and double
 * decoding). The OTLP decoders beside this file walk the messages field by field and build
 * events directly, without an intermediate object tree: see the README ("Protobuf decoding")
 * for the measurements behind that choice.
 *
 * Bounds: `enter` narrows `reader.len` to the end of the embedded message, so protobufjs's own
 * range checks stop any read from running past it; `leave` restores the outer end. A truncated
 * or inconsistent body therefore throws instead of decoding garbage.
 */

/**
 * Node's Buffer has native `utf8Slice`/`hexSlice`/`base64Slice` methods behind `toString`;
 * calling them directly skips argument normalisation that cost a third of the decode time
 * in profiles (protobufjs's own BufferReader calls `utf8Slice` the same way).
 */
type SlicingBuffer = Buffer & {
  utf8Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
  base64Slice(start: number, end: number): string;
};

export type Reader = protobuf.Reader & { buf: SlicingBuffer };

/** Wire types (https://protobuf.dev/programming-guides/encoding/#structure). */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

/** The tag of field `field` with wire type `wire`, as it appears on the wire. */
export const tag = (field: number, wire: number): number => (field << 3) | wire;

/** Nested AnyValue arrays and maps deeper than this are refused (a stack-exhaustion guard). */
export const MAX_DEPTH = 32;

export class ProtoError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'ProtoError';
  }
}

export function createReader(body: Buffer): Reader {
  if (typeof (body as Partial<SlicingBuffer>).utf8Slice !== 'function') body = Buffer.from(body.buffer, body.byteOffset, body.length);
  return protobuf.Reader.create(body) as Reader;
}

/** Read a length prefix and narrow the reader to that embedded message; returns the outer end. */
export function enter(r: Reader): number {
  const n = r.uint32();
  const outer = r.len;
  if (n > outer - r.pos) throw new ProtoError(`a length of ${n} bytes runs past the end of its message`, r.pos);
  r.len = r.pos + n;
  return outer;
}

export function leave(r: Reader, outer: number): void {
  if (r.pos !== r.len) throw new ProtoError('a field runs past the end of its message', r.pos);
  r.len = outer;
}

/** A length-delimited UTF-8 string (protobufjs's own `string()` silently clamps a short read). */
export function str(r: Reader): string {
  const n = r.uint32();
  const start = r.pos;
  if (n > r.len - start) throw new ProtoError(`a string of ${n} bytes runs past the end of its message`, start);
  r.pos = start + n;
  return n === 0 ? '' : r.buf.utf8Slice(start, start + n);
}

/**
 * Attribute keys and many attribute values repeat in every span of a batch and across batches
 * ("http.route", "GET"). A small table indexed by a hash of the bytes returns the same string
 * object each time instead of a new one: V8 then stores keys into label objects through its
 * fast property caches (fresh key strings cost a runtime lookup each), and the queue codec's
 * dictionary finds repeated strings by their cached hash. Only short ASCII strings are cached,
 * so that a hit can be confirmed by comparing bytes with char codes, without keeping copies.
 */
const SLOTS = 4096;
const MAX_CACHED = 64;

export class StringCache {
  private readonly strings = new Array<string>(SLOTS).fill('');

  constructor(private readonly internalizeKeys: boolean) {}

  read(r: Reader): string {
    const n = r.uint32();
    const start = r.pos;
    if (n > r.len - start) throw new ProtoError(`a string of ${n} bytes runs past the end of its message`, start);
    const end = start + n;
    r.pos = end;
    const buf = r.buf;
    if (n > MAX_CACHED || n === 0) return n === 0 ? '' : buf.utf8Slice(start, end);
    // Hash the length and five bytes (the first two, the last two, the middle one): cheap, and
    // enough to spread keys and values such as "/api/items/17" over the table. A collision only
    // costs a miss: a hit is confirmed by comparing every byte.
    let h = Math.imul(n, 16777619) ^ (buf[start] as number) ^ ((buf[end - 1] as number) << 8);
    if (n > 2) h = Math.imul(h ^ (buf[start + 1] as number) ^ ((buf[end - 2] as number) << 8) ^ ((buf[start + (n >> 1)] as number) << 16), 16777619);
    h ^= h >>> 13;
    const slot = (h >>> 0) & (SLOTS - 1);
    const cached = this.strings[slot] as string;
    if (cached.length === n) {
      let i = 0;
      while (i < n && cached.charCodeAt(i) === buf[start + i]) i++;
      if (i === n) return cached;
    }
    // Cache ASCII only: a cached string's char codes are then its bytes.
    for (let i = start; i < end; i++) if ((buf[i] as number) > 127) return buf.utf8Slice(start, end);
    let s = buf.utf8Slice(start, end);
    if (this.internalizeKeys) s = internalize(s);
    this.strings[slot] = s;
    return s;
  }
}

/** The canonical (internalized) copy of `s`: property names of a fast object are internalized. */
function internalize(s: string): string {
  if (s === '__proto__') return s;
  const o: Record<string, number> = {};
  o[s] = 0;
  return Object.keys(o)[0] as string;
}

export const keys = new StringCache(true);
export const values = new StringCache(false);

/** A length-delimited byte string as lower-case hex (trace and span ids, docs/ARCHITECTURE.md#events). */
export function hex(r: Reader): string {
  const n = r.uint32();
  const start = r.pos;
  if (n > r.len - start) throw new ProtoError(`a bytes field of ${n} bytes runs past the end of its message`, start);
  r.pos = start + n;
  return n === 0 ? '' : r.buf.hexSlice(start, start + n);
}

/** A length-delimited byte string as base64 (how OTLP/JSON writes bytes values). */
export function base64(r: Reader): string {
  const n = r.uint32();
  const start = r.pos;
  if (n > r.len - start) throw new ProtoError(`a bytes field of ${n} bytes runs past the end of its message`, start);
  r.pos = start + n;
  return r.buf.base64Slice(start, start + n);
}

/**
 * A `fixed64` count of nanoseconds since the epoch, split into whole microseconds and the
 * remaining nanoseconds, exactly: `hi * 2^32 + lo` does not fit a double, but
 * `hi * 2^32 / 1000 = hi * 4294967 + hi * 296 / 1000` and both parts do (until year 2255).
 * The remainder goes to `nsRest` so durations stay exact to the nanosecond.
 */
export const nsRest = { value: 0 };
export function timeUs(r: Reader): number {
  const lo = r.fixed32();
  const hi = r.fixed32();
  const low = hi * 296 + lo;
  const rest = low % 1000;
  nsRest.value = rest;
  return hi * 4294967 + (low - rest) / 1000;
}

/** An unsigned `fixed64` (counts) as a number; exact below 2^53. */
export function fixed64(r: Reader): number {
  const lo = r.fixed32();
  return r.fixed32() * 4294967296 + lo;
}

/** A signed `sfixed64` as a number; exact while |value| < 2^53. */
export function sfixed64(r: Reader): number {
  const lo = r.fixed32();
  return r.sfixed32() * 4294967296 + lo;
}

/** A varint `int64` as exact decimal text (attribute values keep every digit). */
export function int64Text(r: Reader): string {
  // Up to four bytes hold 28 bits: read them as uint32, without allocating a Long.
  const { buf, pos } = r;
  const end = Math.min(pos + 4, r.len);
  for (let i = pos; i < end; i++) if ((buf[i] as number) < 128) return String(r.uint32());
  const v = r.int64() as unknown as number | { toString(): string };
  return typeof v === 'number' ? String(v) : v.toString();
}

/** Skip a field we do not map (unknown fields must be skipped, not refused). */
export function skip(r: Reader, t: number): void {
  const wire = t & 7;
  if (wire === 4 || wire > 5) throw new ProtoError(`invalid wire type ${wire}`, r.pos);
  r.skipType(wire);
}

/**
 * A repeated `fixed64` (histogram bucket counts): packed (one LEN field, the proto3 default) or
 * one element per field, which parsers must accept as well.
 */
export function repeatedFixed64(r: Reader, t: number, out: number[]): void {
  if ((t & 7) === I64) {
    out.push(fixed64(r));
    return;
  }
  const outer = enter(r);
  if ((r.len - r.pos) % 8 !== 0) throw new ProtoError('a packed fixed64 field is not a multiple of 8 bytes', r.pos);
  while (r.pos < r.len) out.push(fixed64(r));
  leave(r, outer);
}

/** A repeated `double` (histogram bounds), packed or not. */
export function repeatedDouble(r: Reader, t: number, out: number[]): void {
  if ((t & 7) === I64) {
    out.push(r.double());
    return;
  }
  const outer = enter(r);
  if ((r.len - r.pos) % 8 !== 0) throw new ProtoError('a packed double field is not a multiple of 8 bytes', r.pos);
  while (r.pos < r.len) out.push(r.double());
  leave(r, outer);
}

/** A repeated `uint64` varint (exponential histogram buckets), packed or not. */
export function repeatedUint64(r: Reader, t: number, out: number[]): void {
  const one = (): number => {
    const v = r.uint64() as unknown as number | { toNumber(): number };
    return typeof v === 'number' ? v : v.toNumber();
  };
  if ((t & 7) === VARINT) {
    out.push(one());
    return;
  }
  const outer = enter(r);
  while (r.pos < r.len) out.push(one());
  leave(r, outer);
}
