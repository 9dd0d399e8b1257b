/**
 * Buffer's own slice decoders, without `toString`'s argument handling: a measurable share of the
 * per-line cost. They are on `Buffer.prototype` in every Node version we support, though not in
 * the type definitions; `toString` is the fallback.
 */
interface SliceDecoders {
  latin1Slice?(start: number, end: number): string;
  utf8Slice?(start: number, end: number): string;
}
const proto = Buffer.prototype as unknown as SliceDecoders;
export const latin1: (b: Buffer, start: number, end: number) => string =
  typeof proto.latin1Slice === 'function'
    ? (b: Buffer, s: number, e: number) => (b as unknown as Required<SliceDecoders>).latin1Slice(s, e)
    : (b: Buffer, s: number, e: number) => b.toString('latin1', s, e);
export const utf8: (b: Buffer, start: number, end: number) => string =
  typeof proto.utf8Slice === 'function'
    ? (b: Buffer, s: number, e: number) => (b as unknown as Required<SliceDecoders>).utf8Slice(s, e)
    : (b: Buffer, s: number, e: number) => b.toString('utf8', s, e);

/** A line as text: latin1 gives the same string for pure ASCII and is the cheaper decoder. */
export function decodeLine(data: Buffer, start: number, end: number, ascii: boolean): string {
  return ascii ? latin1(data, start, end) : utf8(data, start, end);
}
