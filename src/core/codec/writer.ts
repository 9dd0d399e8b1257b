/**
 * A growable byte writer for the batch codec. Strings are written with a fixed-width length
 * prefix reserved before the bytes (we only know the UTF-8 length after writing), padded LEB128
 * so any LEB128 reader can read it.
 */
export class ByteWriter {
  buf: Buffer;
  off = 0;

  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  reset(): void {
    this.off = 0;
  }

  ensure(n: number): void {
    const need = this.off + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.off++] = v;
  }

  /** Unsigned LEB128 for values below 2^53. */
  varint(v: number): void {
    this.ensure(8);
    const b = this.buf;
    while (v >= 0x80) {
      b[this.off++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.off++] = v;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.off);
    this.off += 8;
  }

  /** A string as `varint(byteLength + 1)` then its UTF-8 bytes (0 is reserved for "repeat"). */
  str(s: string): void {
    const max = s.length * 3 + 1;
    const width = max < 0x80 ? 1 : max < 0x4000 ? 2 : max < 0x200000 ? 3 : 5;
    this.ensure(width + max);
    const start = this.off + width;
    const n = s.length === 0 ? 0 : this.buf.write(s, start, 'utf8');
    let v = n + 1;
    let o = this.off;
    const b = this.buf;
    for (let i = 1; i < width; i++) {
      b[o++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[o] = v;
    this.off = start + n;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.off);
  }
}

export class ByteReader {
  off = 0;
  constructor(readonly buf: Buffer) {}

  u8(): number {
    if (this.off >= this.buf.length) throw new RangeError('batch truncated');
    return this.buf[this.off++] as number;
  }

  varint(): number {
    const b = this.buf;
    let result = 0;
    let mul = 1;
    for (;;) {
      if (this.off >= b.length) throw new RangeError('batch truncated');
      const byte = b[this.off++] as number;
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) return result;
      mul *= 0x80;
    }
  }

  f64(): number {
    const v = this.buf.readDoubleLE(this.off);
    this.off += 8;
    return v;
  }

  /** Reads the bytes of a string whose `varint(len + 1)` tag was already consumed. */
  strBody(len: number): string {
    const end = this.off + len;
    if (end > this.buf.length) throw new RangeError('batch truncated');
    const s = len === 0 ? '' : this.buf.toString('utf8', this.off, end);
    this.off = end;
    return s;
  }
}
