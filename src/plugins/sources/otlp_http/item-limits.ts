/**
 * Per-request limits of the OTLP receiver (README, "Request limits"), after the OpenTelemetry
 * SDK's attribute limits (specification, "Attribute Limits"): at most `maxAttributes` attributes
 * per item, the first ones on the wire kept and the rest dropped; attribute values longer than
 * `maxValueBytes` UTF-8 bytes cut, never inside a character; and at most `maxItems` spans, log
 * records or data points per request, beyond which the request is refused whole. One instance
 * per request: decodes of several requests interleave when they run in slices.
 */
export class ItemLimits {
  droppedAttributes = 0;
  truncatedValues = 0;
  items = 0;

  constructor(
    readonly maxAttributes = Infinity,
    readonly maxValueBytes = Infinity,
    readonly maxItems = Infinity,
  ) {}

  /**
   * Count one item; throws `TooManyItems` past `maxItems`, so a request that is refused anyway
   * is not decoded to its end. True every `SLICE_ITEMS` items: where a decoder yields.
   */
  item(): boolean {
    if (++this.items > this.maxItems) throw new TooManyItems(this.maxItems);
    return (this.items & (SLICE_ITEMS - 1)) === 0;
  }

  /** `value`, or its first `maxValueBytes` bytes (counted). */
  value(value: string): string {
    // A UTF-16 unit takes at most 3 UTF-8 bytes: most values are settled without counting bytes.
    if (value.length * 3 <= this.maxValueBytes || value.length === 0) return value;
    if (Buffer.byteLength(value) <= this.maxValueBytes) return value;
    this.truncatedValues++;
    return truncateUtf8(value, this.maxValueBytes);
  }
}

/** How often (in items) a decoder offers to pause: often enough for 10 ms slices, rarely enough to cost nothing. */
const SLICE_ITEMS = 32;

/** No limits: the decoders' defaults outside the receiver (tests, benchmarks). */
export const unlimited = (): ItemLimits => new ItemLimits();

export class TooManyItems extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit}`);
    this.name = 'TooManyItems';
  }
}

/** The longest prefix of `s` of at most `max` UTF-8 bytes that ends on a character boundary. */
export function truncateUtf8(s: string, max: number): string {
  const bytes = Buffer.from(s, 'utf8');
  let end = max;
  // Back off over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}
