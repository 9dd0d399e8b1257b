/**
 * The request limits over real HTTP through the runtime: a span with a million attributes is
 * accepted with 128 of them while the event loop keeps turning, an oversized request gets 413,
 * and a burst of large bodies shares the decode budget (503 with Retry-After past it).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import { eventually, metricValue, received, startPipeline } from '../../../testing/index.js';
import type { SpanEvent } from '../../../index.js';
import { PROTOBUF, send, statusOf, type Reply } from './testdata/harness.js';
import { manyAttributes, manySpans, spanBytes, tracesBody } from './testdata/bodies.js';

let sinks = 0;

async function receiver(t: Test, options: string) {
  const sink = `rec_limits${++sinks}`;
  const { runtime, logs } = await startPipeline(
    t,
    `
[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:0"
${options}

[sinks.${sink}]
type = "memory_recorder"
inputs = ["otlp"]
`,
  );
  const address = String(logs.lines.find((l) => l.component_id === 'otlp' && l.address)?.address);
  const metric = async (name: string) => metricValue(await runtime.metrics.text(), `thermocline_otlp_http_${name}`, 'component_id="otlp"');
  return { url: `http://${address}/v1/traces`, metric, events: () => received(sink), logs };
}

t.test('a span with 1,000,000 attributes is accepted with the first 128, counted, without stalling the event loop', async (t) => {
  const rx = await receiver(t, '');
  const body = tracesBody([spanBytes(0, manyAttributes(9, 1_000_000))]);
  t.ok(body.length < 20 * 1024 * 1024, `${body.length} bytes fit the default max_body_bytes`);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const reply = await send(rx.url, { headers: PROTOBUF, body });
  delay.disable();
  t.equal(reply.status, 200);
  await eventually(() => rx.events().length === 1, 10_000, 'the span');
  const [span] = rx.events() as SpanEvent[];
  t.equal(Object.keys(span?.attr ?? {}).filter((k) => k.startsWith('k')).length, 128);
  t.equal(await rx.metric('attributes_dropped_total'), 1_000_000 - 128);
  // Generous: the unlimited decode stalled the loop for over 4 s; skipping 999,872 attributes takes milliseconds.
  const maxMs = delay.max / 1e6;
  t.ok(maxMs < 2000, `the event loop was blocked at most ${maxMs.toFixed(0)} ms`);
  t.ok(rx.logs.lines.some((l) => l.dropped_attributes === 1_000_000 - 128), 'a (rate-limited) warning says how many were dropped');
});

t.test('more spans than max_items_per_request: 413 with RESOURCE_EXHAUSTED and TC_OTLP_TOO_MANY_ITEMS; nothing is queued', async (t) => {
  const rx = await receiver(t, 'max_items_per_request = 5');
  const refused = await send(rx.url, { headers: PROTOBUF, body: manySpans(6, 1) });
  t.equal(refused.status, 413);
  t.equal(statusOf(refused).code, 8);
  t.match(statusOf(refused).message, /^TC_OTLP_TOO_MANY_ITEMS: the request carries more than max_items_per_request \(5\)/);
  const ok = await send(rx.url, { headers: PROTOBUF, body: manySpans(5, 1) });
  t.equal(ok.status, 200, 'a request at the limit is accepted');
  await eventually(() => rx.events().length >= 5, 10_000, 'the accepted spans');
  t.same(
    rx.events().map((e) => (e as SpanEvent).name),
    ['span-0', 'span-1', 'span-2', 'span-3', 'span-4'],
    'only the accepted request was queued',
  );
});

t.test('a request that finds the decode budget taken gets 503 with Retry-After while the large one is decoded, then the budget is free again', async (t) => {
  const rx = await receiver(t, 'max_concurrent_decode_bytes = 1024\ndecode_wait_secs = 0');
  const order: string[] = [];
  const large = send(rx.url, { headers: PROTOBUF, body: manySpans(40_000, 8) }).then((r) => {
    order.push('large');
    return r;
  });
  // The gauge can only be read while the large request is being decoded if the decode yields.
  let largeDone = false;
  void large.then(() => (largeDone = true));
  while (!largeDone && (await rx.metric('decode_bytes')) === 0) await new Promise((r) => setTimeout(r, 1));
  if (largeDone) return t.fail('the large request finished before its decode was ever seen in progress');
  const small: Reply = await send(rx.url, { headers: PROTOBUF, body: manySpans(1, 1) });
  order.push('small');
  t.equal(small.status, 503);
  t.equal(small.headers['retry-after'], '5');
  t.match(statusOf(small).message, /^TC_OTLP_DECODE_BUSY: the receiver is already decoding max_concurrent_decode_bytes \(1024 bytes\)/);
  t.equal((await large).status, 200, 'the large request, alone in the budget although larger than it, is accepted');
  t.same(order, ['small', 'large'], 'the refusal was answered while the large request was being decoded');
  t.equal(await rx.metric('decode_refused_total'), 1);
  t.equal(await rx.metric('decode_bytes'), 0, 'the budget is released');
  t.equal((await send(rx.url, { headers: PROTOBUF, body: manySpans(1, 1) })).status, 200, 'and the next request is served');
});
