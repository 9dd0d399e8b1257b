/**
 * What one events request may cost once read: NDJSON parsing stops at the first line over
 * max_events, parsing runs in slices, and a burst of large bodies shares
 * max_concurrent_decode_bytes (503 with Retry-After past it).
 */
import t from 'tap';
import { HttpError, runAtOnce, runInSlices } from '../../../index.js';
import { metricValue, startPipeline } from '../../../testing/index.js';
import { splitBody, toEvents } from './parse.js';

const line = (i: number) => JSON.stringify({ type: 'signup.completed', time: 1700000000000 + i, payload: { user: `u${i}` } });
const ndjson = (n: number) => Array.from({ length: n }, (_, i) => line(i)).join('\n');

t.test('NDJSON over max_events is a 413 before the rest of the body is parsed', async (t) => {
  t.equal(runAtOnce(splitBody(ndjson(10), true, 10)).length, 10, 'exactly max_events is fine');
  t.throws(() => runAtOnce(splitBody(`${ndjson(11)}\n{not json`, true, 10)), new HttpError(413, 'the request carries at least 11 events, more than max_events (10); send smaller batches'));
  t.throws(() => runAtOnce(splitBody(JSON.stringify([1, 2, 3]), false, 2)), new HttpError(413, 'the request carries 3 events, more than max_events (2); send smaller batches'));
});

t.test('parsing and checking events in slices lets other callbacks run and gives the same events', async (t) => {
  const text = ndjson(20_000);
  let ticks = 0;
  let ticking = true;
  const tick = () => {
    ticks++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const expected = runAtOnce(toEvents(runAtOnce(splitBody(text, true, 100_000))));
  t.equal(ticks, 0, 'control: run at once, nothing else runs');
  const sliced = await runInSlices(toEvents(await runInSlices(splitBody(text, true, 100_000), 1)), 1);
  ticking = false;
  t.ok(ticks >= 2, `other callbacks ran ${ticks} times`);
  t.strictSame(sliced, expected);
});

t.test('a request that finds the decode budget taken gets 503 TC_EVENTS_DECODE_BUSY with Retry-After', async (t) => {
  const { runtime, logs } = await startPipeline(
    t,
    `
[sources.events]
type = "http_events"
address = "127.0.0.1:0"
max_events = 200000
max_concurrent_decode_bytes = 1024
decode_wait_secs = 0

[sinks.rec_events_decode]
type = "memory_recorder"
inputs = ["events"]
`,
  );
  const url = `http://${String(logs.lines.find((l) => l.component_id === 'events' && l.address)?.address)}/v1/events`;
  const post = (body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
  const gauge = async () => metricValue(await runtime.metrics.text(), 'thermocline_http_events_decode_bytes', 'component_id="events"');
  const order: string[] = [];
  let largeDone = false;
  const large = post(ndjson(100_000)).then((r) => {
    order.push('large');
    largeDone = true;
    return r;
  });
  // Readable only while the large body is being parsed if the parse yields.
  while (!largeDone && (await gauge()) === 0) await new Promise((r) => setTimeout(r, 1));
  if (largeDone) return t.fail('the large request finished before its parse was ever seen in progress');
  const small = await post(line(1));
  order.push('small');
  t.equal(small.status, 503);
  t.equal(small.headers.get('retry-after'), '5');
  t.match(await small.json(), { code: 'TC_EVENTS_DECODE_BUSY', message: /already parsing max_concurrent_decode_bytes \(1024 bytes\)/ });
  t.equal((await large).status, 200);
  t.same(order, ['small', 'large']);
  t.equal(metricValue(await runtime.metrics.text(), 'thermocline_http_events_decode_refused_total', 'component_id="events"'), 1);
  t.equal((await post(line(2))).status, 200, 'the budget is free again');
});
