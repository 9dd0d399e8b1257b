/**
 * The per-request limits of the decoders (README, "Request limits"): attributes per item kept
 * first-come and counted, values cut on character boundaries, items per request refused
 * early, and decoding in slices that hand the event loop back.
 */
import t from 'tap';
import { runAtOnce, runInSlices, type LogEvent, type SpanEvent } from '../../../index.js';
import { ItemLimits, TooManyItems, truncateUtf8 } from './item-limits.js';
import { decodeLogsJson } from './json/logs.js';
import { decodeTracesJson } from './json/traces.js';
import { decodeMetricsProto } from './proto/metrics.js';
import { decodeTracesProto, tracesProto } from './proto/traces.js';
import { attrKey, ld, manyAttributes, manySpans, spanBytes, stringAttr, tracesBody } from './testdata/bodies.js';
import { otlp } from './testdata/generated.js';

const own = (attr: Record<string, string>) => Object.keys(attr).filter((k) => k.startsWith('k'));

t.test('attributes beyond the limit are dropped per item, the first ones on the wire kept, and counted', async (t) => {
  const event = ld(11, Buffer.concat([ld(2, Buffer.from('ev')), manyAttributes(3, 300)]));
  const body = tracesBody([spanBytes(0, Buffer.concat([manyAttributes(9, 1000), event])), spanBytes(1, manyAttributes(9, 5))], manyAttributes(1, 200));
  const lim = new ItemLimits(128, 4096, 100);
  const [big, small] = decodeTracesProto(body, lim).events as SpanEvent[];
  t.same(own(big!.attr), Array.from({ length: 128 }, (_, i) => attrKey(i)), 'the span keeps its first 128 attributes');
  t.equal(Object.keys(big!.events[0]!.attr).length, 128, 'a span event has its own 128');
  t.equal(own(small!.attr).length, 5, 'a span under the limit keeps all');
  // service.name comes first on the wire and becomes the span's service: 127 others are kept.
  t.equal(Object.keys(big!.attr).filter((k) => k.startsWith('resource.')).length, 127, 'the resource is limited too');
  t.equal(lim.droppedAttributes, 1000 - 128 + (300 - 128) + (201 - 128));
  t.equal(lim.items, 2);

  const unlimited = decodeTracesProto(body).events as SpanEvent[];
  t.equal(own(unlimited[0]!.attr).length, 1000, 'without limits (the default of the exported decoder) nothing is dropped');
});

t.test('OTLP/JSON applies the same attribute limit', async (t) => {
  const attributes = Array.from({ length: 200 }, (_, i) => ({ key: attrKey(i), value: { stringValue: 'v' } }));
  const span = { traceId: '11'.repeat(16), spanId: '00000000000000aa', name: 's', startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000001000000', attributes };
  const lim = new ItemLimits(128, 4096, 100);
  const [s] = decodeTracesJson({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }, lim).events as SpanEvent[];
  t.same(own(s!.attr), Array.from({ length: 128 }, (_, i) => attrKey(i)));
  t.equal(lim.droppedAttributes, 72);
});

t.test('long values are cut to max_attribute_value_bytes, never inside a character, and counted', async (t) => {
  const values = { ascii: 'x'.repeat(5000), two: 'é'.repeat(3000), four: `a${'😀'.repeat(2000)}`, short: 'é'.repeat(100) };
  const attrs = Buffer.concat(Object.entries(values).map(([k, v]) => stringAttr(9, k, v)));
  const lim = new ItemLimits(128, 4096, 100);
  const [s] = decodeTracesProto(tracesBody([spanBytes(0, attrs)]), lim).events as SpanEvent[];
  const attr = s!.attr;
  t.equal(attr.ascii, 'x'.repeat(4096));
  t.equal(attr.two, 'é'.repeat(2048), '2-byte characters: 4096 bytes exactly');
  t.equal(attr.four, `a${'😀'.repeat(1023)}`, 'the 4-byte character that would straddle the limit is left out whole');
  t.equal(attr.short, values.short);
  t.equal(lim.truncatedValues, 3);
  t.equal(truncateUtf8('aé', 2), 'a', 'a cut inside a character backs off to its start');
});

t.test('more items than the limit throw TooManyItems before the body is decoded to its end', async (t) => {
  t.equal(decodeTracesProto(manySpans(10, 1), new ItemLimits(128, 4096, 10)).events.length, 10, 'exactly the limit is fine');
  const lim = new ItemLimits(128, 4096, 10);
  t.throws(() => decodeTracesProto(manySpans(1000, 1), lim), TooManyItems);
  t.equal(lim.items, 11, 'decoding stopped at the first item over the limit');

  const records = Array.from({ length: 11 }, () => ({ body: { stringValue: 'x' } }));
  t.throws(() => decodeLogsJson({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] }, new ItemLimits(128, 4096, 10)), TooManyItems);

  const M = otlp.collector.metrics.v1.ExportMetricsServiceRequest;
  const points = Array.from({ length: 11 }, (_, i) => ({ asDouble: i, timeUnixNano: '1700000000000000000' }));
  const metrics = Buffer.from(M.encode(M.fromObject({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'g', gauge: { dataPoints: points } }] }] }] })).finish());
  t.equal(decodeMetricsProto(metrics, []).events.length, 11);
  t.throws(() => decodeMetricsProto(metrics, [], new ItemLimits(128, 4096, 10)), TooManyItems, 'data points count as items');
});

t.test('decoding in slices hands the event loop back between items and decodes the same events', async (t) => {
  const body = manySpans(20_000, 10);
  const expected = decodeTracesProto(body).events;
  let ticks = 0;
  let ticking = true;
  const tick = () => {
    ticks++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const atOnce = runAtOnce(tracesProto(body, new ItemLimits()));
  t.equal(ticks, 0, 'control: run at once, nothing else runs during the decode');
  const sliced = await runInSlices(tracesProto(body, new ItemLimits()), 1);
  const during = ticks;
  ticking = false;
  t.ok(during >= 2, `other callbacks ran ${during} times during the sliced decode`);
  t.equal(sliced.events.length, 20_000);
  t.strictSame(sliced.events, expected);
  t.strictSame(atOnce.events, expected);
});

t.test('a log record keeps its first attributes too', async (t) => {
  const attributes = Array.from({ length: 130 }, (_, i) => ({ key: attrKey(i), value: { stringValue: 'v' } }));
  const lim = new ItemLimits(128, 4096, 10);
  const [log] = decodeLogsJson({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' }, attributes }] }] }] }, lim).events as LogEvent[];
  t.equal(own(log!.labels).length, 128);
  t.equal(lim.droppedAttributes, 2);
});
