/**
 * Wire-level behaviour of the protobuf decoder that the generated encoder never produces:
 * fields out of order, unknown fields of every wire type, unpacked repeated fields, wrong wire
 * types, hostile nesting, and the attribute-key cache.
 */
import protobuf from 'protobufjs';
import t from 'tap';
import type { SpanEvent } from '../../../index.js';
import { decodeMetricsProto } from './proto/metrics.js';
import { decodeTracesProto } from './proto/traces.js';
import { otlp } from './testdata/generated.js';

const trace = otlp.trace.v1;
const common = otlp.common.v1;
const metrics = otlp.metrics.v1;
const bytes = (type: { fromObject(o: unknown): unknown; encode(m: unknown): { finish(): Uint8Array } }, o: unknown): Uint8Array =>
  type.encode(type.fromObject(o)).finish();

/** Hand-assembled messages: `[field, wire type, payload]` in the order given. */
type Part = [number, 'varint', number] | [number, 'len', Uint8Array] | [number, 'i64' | 'i32', number] | [number, 'group'];
function message(...parts: Part[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const p of parts) {
    if (p[1] === 'varint') w.uint32((p[0] << 3) | 0).uint64(p[2]);
    else if (p[1] === 'len') w.uint32((p[0] << 3) | 2).bytes(p[2]);
    else if (p[1] === 'i64') w.uint32((p[0] << 3) | 1).double(p[2]);
    else if (p[1] === 'i32') w.uint32((p[0] << 3) | 5).fixed32(p[2]);
    else
      w.uint32((p[0] << 3) | 3)
        .uint32((1 << 3) | 0)
        .uint32(7)
        .uint32((p[0] << 3) | 4);
  }
  return w.finish();
}

const span = (name: string, extra: Record<string, unknown> = {}) =>
  bytes(trace.Span, { traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'), spanId: Buffer.from('eee19b7ec3c1b174', 'hex'), name, ...extra });
const resource = (service: string) => bytes(otlp.resource.v1.Resource, { attributes: [{ key: 'service.name', value: { stringValue: service } }] });
const scope = bytes(common.InstrumentationScope, { name: 'lib' });

t.test('resource and scope are applied to spans whatever their position on the wire', async (t) => {
  const scopeSpans = message([2, 'len', span('a')], [1, 'len', scope]);
  const body = Buffer.from(message([1, 'len', message([2, 'len', scopeSpans], [1, 'len', resource('late')])]));
  const [s] = decodeTracesProto(body).events as SpanEvent[];
  t.equal(s?.service, 'late');
  t.strictSame(s?.attr, { 'scope.name': 'lib' });
});

t.test('repeated resource messages merge, as protobuf requires', async (t) => {
  const more = bytes(otlp.resource.v1.Resource, { attributes: [{ key: 'region', value: { stringValue: 'eu' } }] });
  const body = Buffer.from(message([1, 'len', message([1, 'len', resource('svc')], [2, 'len', message([2, 'len', span('a')])], [1, 'len', more])]));
  const [s] = decodeTracesProto(body).events as SpanEvent[];
  t.equal(s?.service, 'svc');
  t.equal(s?.attr['resource.region'], 'eu');
});

t.test('unknown fields of every wire type are skipped, at every level', async (t) => {
  const unknown: Part[] = [
    [90, 'varint', 300],
    [91, 'i64', 1.5],
    [92, 'len', new Uint8Array([1, 2, 3])],
    [93, 'i32', 7],
    [94, 'group'],
  ];
  const s = Buffer.concat([span('a'), message(...unknown)]);
  const body = Buffer.from(message(...unknown, [1, 'len', message([1, 'len', resource('svc')], ...unknown, [2, 'len', message(...unknown, [2, 'len', s])])]));
  const decoded = decodeTracesProto(body);
  t.equal(decoded.rejected, 0);
  t.strictSame(
    decoded.events.map((e) => (e as SpanEvent).name),
    ['a'],
  );
});

t.test('a known field with an unexpected wire type is skipped like an unknown one (as protobuf-go does)', async (t) => {
  const s = Buffer.concat([span('kept'), message([5, 'varint', 1])]);
  const [e] = decodeTracesProto(Buffer.from(message([1, 'len', message([2, 'len', message([2, 'len', s])])]))).events as SpanEvent[];
  t.equal(e?.name, 'kept');
});

t.test('malformed bodies throw: lengths past the end, invalid wire types, hostile nesting', async (t) => {
  t.throws(() => decodeTracesProto(Buffer.from([0x0a, 0x05, 0x12, 0x01])), /runs past the end/);
  t.throws(() => decodeTracesProto(Buffer.from([0x0e, 0x00])), /invalid wire type 6/);
  // A string field whose length is within the body but beyond its enclosing message.
  const inner = message([5, 'len', new TextEncoder().encode('name')]);
  const bad = Buffer.from(inner);
  bad[1] = 40;
  t.throws(() => decodeTracesProto(Buffer.from(message([1, 'len', message([2, 'len', message([2, 'len', bad])])]))), /runs past the end/);
  let value: unknown = { stringValue: 'deep' };
  for (let i = 0; i < 40; i++) value = { arrayValue: { values: [value] } };
  const deep = bytes(trace.Span, { name: 'deep', attributes: [{ key: 'nested', value }] });
  t.throws(() => decodeTracesProto(Buffer.from(message([1, 'len', message([2, 'len', message([2, 'len', deep])])]))), /nested deeper than 32 levels/);
});

t.test('int64 attribute values keep every digit, negative ones included', async (t) => {
  const values = ['0', '127', '268435455', '268435456', '9007199254740993', '-1', '-9223372036854775808', '9223372036854775807'];
  const s = bytes(trace.Span, {
    traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'),
    spanId: Buffer.from('eee19b7ec3c1b174', 'hex'),
    attributes: values.map((v, i) => ({ key: `k${i}`, value: { intValue: v } })),
  });
  const [e] = decodeTracesProto(Buffer.from(message([1, 'len', message([2, 'len', message([2, 'len', s])])]))).events as SpanEvent[];
  t.strictSame(
    values.map((_, i) => e?.attr[`k${i}`]),
    values,
  );
});

t.test('thousands of distinct attribute keys come back exactly (the key cache is only a cache)', async (t) => {
  const keys = Array.from({ length: 5000 }, (_, i) => `attr.${i.toString(36)}.${'x'.repeat(i % 50)}`);
  const s = bytes(trace.Span, {
    traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'),
    spanId: Buffer.from('eee19b7ec3c1b174', 'hex'),
    attributes: [...keys, 'a'.repeat(200)].map((key, i) => ({ key, value: { stringValue: String(i) } })),
  });
  const body = Buffer.from(message([1, 'len', message([2, 'len', message([2, 'len', s], [2, 'len', s])])]));
  for (const e of decodeTracesProto(body).events as SpanEvent[]) {
    t.strictSame(Object.keys(e.attr), [...keys, 'a'.repeat(200)]);
    t.ok(
      keys.every((k, i) => e.attr[k] === String(i)),
      'every key maps to its own value',
    );
  }
});

t.test('repeated numeric fields are read packed or unpacked', async (t) => {
  const when = { timeUnixNano: '1700000000000000000' };
  const request = (metric: Uint8Array) => Buffer.from(message([1, 'len', message([2, 'len', message([2, 'len', metric])])]));

  // Histogram: bucket_counts (fixed64) and explicit_bounds (double), packed by the generated encoder.
  const packed = bytes(metrics.HistogramDataPoint, { ...when, count: 3, sum: 1, bucketCounts: [1, 1, 1], explicitBounds: [1, 2] });
  const w = protobuf.Writer.create();
  w.uint32((3 << 3) | 1).fixed64('1700000000000000000');
  w.uint32((4 << 3) | 1).fixed64(3);
  w.uint32((5 << 3) | 1).double(1);
  for (const c of [1, 1, 1]) w.uint32((6 << 3) | 1).fixed64(c);
  for (const b of [1, 2]) w.uint32((7 << 3) | 1).double(b);
  const histogram = (point: Uint8Array) =>
    request(message([1, 'len', new TextEncoder().encode('h')], [9, 'len', message([1, 'len', point], [2, 'varint', 2])]));
  const a = decodeMetricsProto(histogram(packed), []);
  t.strictSame(decodeMetricsProto(histogram(w.finish()), []), a);
  t.strictSame((a.events[0] as { histogram: unknown }).histogram, { count: 3, sum: 1, buckets: { '1': 1, '2': 2, '+Inf': 3 } });

  // Exponential histogram: Buckets.bucket_counts (uint64 varints).
  const expPacked = bytes(metrics.ExponentialHistogramDataPoint, { ...when, count: 2, scale: 0, positive: { offset: 1, bucketCounts: [1, 1] } });
  const ew = protobuf.Writer.create();
  ew.uint32((3 << 3) | 1).fixed64('1700000000000000000');
  ew.uint32((4 << 3) | 1).fixed64(2);
  ew.uint32((8 << 3) | 2).bytes(message([1, 'varint', 2], [2, 'varint', 1], [2, 'varint', 1]));
  const exponential = (point: Uint8Array) => request(message([1, 'len', new TextEncoder().encode('e')], [10, 'len', message([1, 'len', point])]));
  const c = decodeMetricsProto(exponential(expPacked), []);
  t.strictSame(decodeMetricsProto(exponential(ew.finish()), []), c);
  // scale 0: base 2; offset 1 → buckets (2, 4] and (4, 8].
  t.strictSame((c.events[0] as { histogram: unknown }).histogram, { count: 2, sum: 0, buckets: { '4': 1, '8': 2, '+Inf': 2 } });
});

t.test('an attribute named __proto__ is kept as an ordinary label', async (t) => {
  const s = bytes(trace.Span, {
    traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'),
    spanId: Buffer.from('eee19b7ec3c1b174', 'hex'),
    attributes: [
      { key: '__proto__', value: { stringValue: 'polluted?' } },
      {
        key: 'map',
        value: { kvlistValue: { values: [{ key: '__proto__', value: { kvlistValue: { values: [{ key: 'admin', value: { boolValue: true } }] } } }] } },
      },
    ],
  });
  const [e] = decodeTracesProto(Buffer.from(message([1, 'len', message([2, 'len', message([2, 'len', s])])]))).events as SpanEvent[];
  t.equal(Object.getPrototypeOf(e?.attr), Object.prototype);
  t.strictSame(Object.entries(e?.attr ?? {}), [
    ['__proto__', 'polluted?'],
    ['map', '{"__proto__":{"admin":true}}'],
  ]);
});
