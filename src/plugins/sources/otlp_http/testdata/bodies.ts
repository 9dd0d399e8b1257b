/**
 * Large OTLP protobuf bodies written byte by byte: the generated encoder would need a message
 * object per attribute, far too slow and large for a span with a million of them.
 */

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A length-delimited field. */
export const ld = (field: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(payload.length)]), payload]);

function fixed64(field: number, value: bigint): Buffer {
  const b = Buffer.alloc(9);
  b[0] = (field << 3) | 1;
  b.writeBigUInt64LE(value, 1);
  return b;
}

/** A `KeyValue` with a string value, as field `field` of its parent. */
export const stringAttr = (field: number, key: string, value: string): Buffer => ld(field, Buffer.concat([ld(1, Buffer.from(key)), ld(2, ld(1, Buffer.from(value)))]));

/** `n` string attributes `k0000000 = "v"`, `k0000001 = "v"`, … as field `field`, in one buffer. */
export function manyAttributes(field: number, n: number): Buffer {
  const one = stringAttr(field, 'k0000000', 'v');
  const out = Buffer.alloc(one.length * n);
  // Field tag, length, key tag, key length, "k": the digits start at byte 5.
  for (let i = 0; i < n; i++) {
    one.copy(out, i * one.length);
    out.write(String(i).padStart(7, '0'), i * one.length + 5, 'latin1');
  }
  return out;
}

/** The key of the `i`-th attribute of `manyAttributes`. */
export const attrKey = (i: number): string => `k${String(i).padStart(7, '0')}`;

/** A Span numbered `i` (its id is i + 1), with `rest` appended (attributes, events). */
export function spanBytes(i: number, rest: Buffer = Buffer.alloc(0)): Buffer {
  const spanId = Buffer.alloc(8);
  spanId.writeUInt32BE(i + 1, 4);
  return Buffer.concat([
    ld(1, Buffer.alloc(16, 0x11)),
    ld(2, spanId),
    ld(5, Buffer.from(`span-${i}`)),
    fixed64(7, 1_700_000_000_000_000_000n),
    fixed64(8, 1_700_000_000_001_000_000n),
    rest,
  ]);
}

/** An ExportTraceServiceRequest of one resource (`service.name = svc`, plus `resourceAttrs`) and one scope. */
export function tracesBody(spans: Buffer[], resourceAttrs: Buffer = Buffer.alloc(0)): Buffer {
  const resource = ld(1, Buffer.concat([stringAttr(1, 'service.name', 'svc'), resourceAttrs]));
  return ld(1, Buffer.concat([resource, ld(2, Buffer.concat(spans.map((s) => ld(2, s))))]));
}

/** `n` spans with `attrs` attributes each. */
export const manySpans = (n: number, attrs: number): Buffer => tracesBody(Array.from({ length: n }, (_, i) => spanBytes(i, manyAttributes(9, attrs))));
