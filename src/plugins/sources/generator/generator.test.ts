import t from 'tap';
import { received, eventually, standaloneContext, startPipeline, tempDir } from '../../../testing/index.js';
import generator from './index.js';
import type { TelemetryEvent } from '../../../index.js';

const seqOf = (e: TelemetryEvent): string | undefined => (e.kind === 'span' ? e.attr.seq : e.kind === 'event' ? undefined : e.labels.seq);

const config = (id: string, count: number, extra = '', rate = 0) => `
[sources.gen]
type = "generator"
rate = ${rate}
batch_size = 7
count = ${count}
service = "checkout"
${extra}
[sinks.${id}]
type = "memory_recorder"
inputs = ["gen"]
`;

t.test('kinds rotate by sequence number and every event carries its seq', async (t) => {
  const { logs } = await startPipeline(t, config('rotation', 9, 'message_bytes = 200'));
  await eventually(() => received('rotation').length === 9, 10_000, '9 events');
  const events = received('rotation');
  t.strictSame(
    events.map((e) => e.kind),
    ['log', 'metric', 'span', 'log', 'metric', 'span', 'log', 'metric', 'span'],
  );
  t.strictSame(events.map(seqOf), ['0', '1', '2', '3', '4', '5', '6', '7', '8']);
  const [log, metric, span] = events;
  t.match(log, { kind: 'log', service: 'checkout', level: 'info', message: /^GET \/api\/cart 200 0ms request=0 x+$/ });
  t.ok(log?.kind === 'log' && log.message.length >= 160 && log.message.length <= 200, 'the message is a little under message_bytes long');
  t.match(metric, {
    kind: 'metric',
    type: 'gauge',
    name: 'generator_request_duration_seconds',
    labels: { route: '/api/checkout', seq: '1', service: 'checkout' },
  });
  t.match(span, { kind: 'span', name: 'GET /api/login', service: 'checkout', duration_ns: 1_000_000, status_code: 'OK', trace_id: /^[0-9a-f]{32}$/ });
  await eventually(() => logs.messages().some((m) => /all events generated/.test(m)), 5_000, 'the finishing log line');
});

t.test('kinds can be narrowed; every 50th span is an error', async (t) => {
  await startPipeline(t, config('spans', 101, 'kinds = ["span"]'));
  await eventually(() => received('spans').length === 101, 10_000, '101 spans');
  const errors = received('spans').filter((e) => e.kind === 'span' && e.status_code === 'ERROR');
  t.strictSame(errors.map(seqOf), ['0', '50', '100']);
});

t.test('a restarted generator continues from its checkpoint: no gap, no repeat, count holds across runs', async (t) => {
  const dataDir = tempDir(t);
  const first = await startPipeline(t, config('restart', 40, 'kinds = ["log"]', 100), { dataDir });
  await eventually(() => received('restart').length >= 10, 10_000, 'some events');
  await first.runtime.stop();
  const before = received('restart').map(seqOf);
  t.ok(before.length < 40, `stopped part way (${before.length} events)`);
  await startPipeline(t, config('restart', 40, 'kinds = ["log"]'), { dataDir });
  await eventually(() => before.length + received('restart').length >= 40, 10_000, 'the rest');
  await new Promise((r) => setTimeout(r, 300)); // room for an extra event to show up, if any
  // The sink of the second runtime starts a new record: together they are 0..39 once each.
  const all = [...before, ...received('restart').map(seqOf)];
  t.strictSame(
    all.map(Number).sort((a, b) => a - b),
    Array.from({ length: 40 }, (_, i) => i),
  );
});

t.test('at a set rate, due events wait for a whole batch (at most 100 ms) rather than go out one at a time', async (t) => {
  const { source: ctx, emitted } = standaloneContext('source', 'gen', 'generator', tempDir(t));
  const source = generator.create(generator.config.parse({ rate: 2000, batch_size: 100, kinds: ['log'] }), ctx);
  await source.start();
  await eventually(() => emitted.reduce((n, e) => n + e.events.length, 0) >= 1000, 10_000, 'a thousand events');
  await source.stop?.();
  const sizes = emitted.map((e) => e.events.length);
  // What fell due between the start and the first emit, not a whole batch: a loaded machine may
  // let a millisecond or two pass (at 2,000 events/s, two or three events), so not exactly one.
  t.ok((sizes[0] ?? 0) >= 1 && (sizes[0] ?? 0) < 100, `the first events go out at once, without waiting for a whole batch: ${sizes[0]}`);
  // One event per emit (a commit each) is what this replaced; a slow machine only makes batches fuller.
  const rest = sizes.slice(1, -1);
  t.ok(rest.every((n) => n >= 20), `batches after the first hold 20 or more events: ${sizes.join(' ')}`);
  t.same(
    emitted.flatMap((e) => e.events.map(seqOf)),
    Array.from({ length: sizes.reduce((a, b) => a + b, 0) }, (_, i) => String(i)),
    'every sequence number once, in order',
  );
});
