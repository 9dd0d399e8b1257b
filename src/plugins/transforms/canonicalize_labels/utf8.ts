/**
 * Truncate `value` to at most `maxBytes` bytes of UTF-8 without cutting a character (a surrogate
 * pair counts as one 4-byte character). Returns the value itself when it fits.
 */
export function truncateUtf8(value: string, maxBytes: number): string {
  // Each UTF-16 code unit is at most 3 UTF-8 bytes: short strings fit without counting.
  if (value.length * 3 <= maxBytes) return value;
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let size: number;
    let units = 1;
    if (c < 0x80) size = 1;
    else if (c < 0x800) size = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      size = 4;
      units = 2;
    } else size = 3;
    if (bytes + size > maxBytes) return value.slice(0, i);
    bytes += size;
    i += units - 1;
  }
  return value;
}
