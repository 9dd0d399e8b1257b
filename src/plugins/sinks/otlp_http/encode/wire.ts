import protobuf from 'protobufjs/minimal.js';
import type { Labels } from '../../../../index.js';

/**
 * protobufjs's `Writer` (the maintained varint/fixed/double encoding) driven field by field, the
 * mirror of the `otlp_http` source's decoders. Field numbers are those of opentelemetry-proto
 * (`opentelemetry/proto/{common,resource,trace,logs,metrics}/v1/*.proto`); the tests decode our
 * output with the OpenTelemetry project's generated code, so a wrong number cannot hide.
 */
export type Writer = protobuf.Writer;
export const newWriter = (): Writer => protobuf.Writer.create();

const LEN = 2;
const I64 = 1;
const VARINT = 0;

export const tagLen = (field: number) => (field << 3) | LEN;
export const tagI64 = (field: number) => (field << 3) | I64;
export const tagVarint = (field: number) => (field << 3) | VARINT;

/** A fixed64 nanosecond timestamp from microseconds, exact beyond 2^53 (which ns since 1970 exceed). */
export function fixed64Nanos(w: Writer, field: number, us: number): void {
  const ns = BigInt(Math.round(us)) * 1000n;
  w.uint32(tagI64(field)).fixed64({ low: Number(ns & 0xffffffffn) | 0, high: Number((ns >> 32n) & 0xffffffffn) | 0, unsigned: true } as never);
}

export function fixed64Count(w: Writer, field: number, n: number): void {
  const v = BigInt(Math.max(0, Math.round(n)));
  w.uint32(tagI64(field)).fixed64({ low: Number(v & 0xffffffffn) | 0, high: Number((v >> 32n) & 0xffffffffn) | 0, unsigned: true } as never);
}

export function string(w: Writer, field: number, s: string): void {
  if (s !== '') w.uint32(tagLen(field)).string(s);
}

/** Hex ids (trace 32, span 16 digits) as bytes; anything else is left out. */
export function hexBytes(w: Writer, field: number, hex: string, digits: number): void {
  if (hex.length === digits && /^[0-9a-f]+$/i.test(hex)) w.uint32(tagLen(field)).bytes(Buffer.from(hex, 'hex'));
}

/** `KeyValue { key = 1; AnyValue value = 2 { string_value = 1 } }`: our attributes are strings. */
export function keyValue(w: Writer, field: number, key: string, value: string): void {
  w.uint32(tagLen(field)).fork();
  w.uint32(tagLen(1)).string(key);
  w.uint32(tagLen(2)).fork().uint32(tagLen(1)).string(value).ldelim();
  w.ldelim();
}

export function attributes(w: Writer, field: number, attrs: Labels): void {
  for (const k in attrs) keyValue(w, field, k, attrs[k] as string);
}
