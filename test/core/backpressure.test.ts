/**
 * Back-pressure is per destination (docs/delivery.md#when-a-destination-is-down): `emit` routes a
 * batch first and asks for room only in the queues the routed events reach. A batch that reaches a
 * full queue commits nothing at all; one that reaches only queues with room goes through while
 * another sink of the same source is full.
 */
import t from 'tap';
import type { TelemetryEvent } from '../../src/core/events.js';
import { received } from '../helpers/memory-sink.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, startPipeline } from '../helpers/pipeline.js';
import { testTransforms } from '../helpers/test-transforms.js';

const extra = [manualSource, ...testTransforms];

function metrics(from: number, n: number): TelemetryEvent[] {
  return Array.from({ length: n }, (_, i) => ({ kind: 'metric' as const, name: 'load', type: 'gauge' as const, value: from + i, labels: { seq: String(from + i) }, time_us: 1_700_000_000_000_000 + from + i }));
}

/** m → split: metrics to `hot` (a 1-byte queue, slow to drain), the rest to `cold`. */
const SPLIT = `
[sources.m]
type = "manual"

[transforms.split]
type = "route"
inputs = ["m"]
route.metrics = { kind = "metric" }

[sinks.hot]
type = "memory_recorder"
inputs = ["split.metrics"]
delay_ms = 1500
buffer = { max_bytes = 1 }

[sinks.cold]
type = "memory_recorder"
inputs = ["split._unmatched"]
`;

t.test('a batch that reaches only queues with room is accepted while another sink of the source is full', async (t) => {
  const { runtime } = await startPipeline(t, SPLIT, { extra });
  const src = manualSources.get('m')!;
  t.equal(await src.emit(metrics(0, 5)), 'accepted', 'the first metrics fill the hot queue');
  t.ok(runtime.queueOf('hot')!.isFull(), 'the hot queue is full');
  t.ok(src.isBlocked(), 'isBlocked stays conservative: some queue the source can reach is full');

  t.equal(await src.emit(logs(0, 10), { at: 10 }, { wait: false }), 'accepted', 'logs reach only cold: accepted without waiting');
  let waited = false;
  const plain = src.emit(logs(10, 10), { at: 20 }).then((o) => (waited = runtime.queueOf('hot')!.isFull() === false) || o);
  t.equal(await plain, 'accepted');
  t.notOk(waited, 'a waiting emit of logs returned while hot was still full');
  t.same(runtime.store.getCheckpoint('m'), { at: 20 }, 'their checkpoints are committed');
  t.equal(await src.emit(metrics(5, 5), { at: 30 }, { wait: false }), 'full', 'metrics reach the full hot queue: refused');
  t.same(runtime.store.getCheckpoint('m'), { at: 20 }, 'the refused batch left the checkpoint where it was');

  await eventually(() => received('cold').length === 20, 5000, 'the logs in cold');
  await eventually(() => received('hot').length === 5, 5000, 'the first metrics in hot');
  t.same(
    received('hot').map((e) => (e as { value: number }).value),
    [0, 1, 2, 3, 4],
    'the refused metrics were not queued',
  );
});

t.test('a batch that reaches a full queue is refused whole, then committed once when there is room', async (t) => {
  const { runtime } = await startPipeline(t, SPLIT, { extra });
  const src = manualSources.get('m')!;
  await src.emit(metrics(0, 1), { at: 1 });
  const cold = runtime.queueOf('cold')!;
  const mixed = [...logs(0, 3), ...metrics(1, 2)];
  t.equal(await src.emit(mixed, { at: 2 }, { wait: false }), 'full', 'a mixed batch reaching hot is refused');
  t.equal(cold.batches + received('cold').length, 0, 'its logs were not queued for cold either');
  t.same(runtime.store.getCheckpoint('m'), { at: 1 }, 'nor its checkpoint committed');
  const split = () => runtime.metrics.componentStats().find((s) => s.id === 'split')!;
  const routedOnce = split().receivedEvents;

  t.equal(await src.emit(mixed, { at: 2 }), 'accepted', 'the same batch, waiting, is committed once hot has room');
  t.equal(split().receivedEvents, routedOnce, 'emitting the refused array again did not run the transforms again');
  t.same(runtime.store.getCheckpoint('m'), { at: 2 });
  await eventually(() => received('cold').length === 3 && received('hot').length === 3, 10_000, 'both sinks');
  t.same(
    received('cold').map((e) => (e as { message: string }).message),
    ['m 0', 'm 1', 'm 2'],
    'the logs once',
  );
  t.same(
    received('hot').map((e) => (e as { value: number }).value),
    [0, 1, 2],
    'the metrics once',
  );
});

t.test('a transform that threw on a refused batch dead-letters its input only when the batch is committed', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `
[sources.m]
type = "manual"

[transforms.bad]
type = "test_throw"
inputs = ["m"]

[sinks.hot]
type = "memory_recorder"
inputs = ["m"]
delay_ms = 1000
buffer = { max_bytes = 1 }

[sinks.after]
type = "memory_recorder"
inputs = ["bad"]
`,
    { extra },
  );
  const src = manualSources.get('m')!;
  await src.emit(logs(0, 1));
  t.equal(runtime.store.deadLetterCount('bad'), 1, 'the committed batch: its input dead-lettered');
  const batch = logs(1, 4);
  t.equal(await src.emit(batch, undefined, { wait: false }), 'full');
  t.equal(runtime.store.deadLetterCount('bad'), 1, 'nothing dead-lettered for the refused batch');
  t.equal(await src.emit(batch), 'accepted');
  t.equal(runtime.store.deadLetterCount('bad'), 2, 'once it is committed, its input is dead-lettered once');
  t.equal(runtime.metrics.componentStats().find((s) => s.id === 'bad')?.errors.get('transform'), 2, 'the transform ran once per batch');
});

t.test('drop_newest: a full dropping queue never refuses; the batch goes to the others and the drop is counted', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `
[sources.m]
type = "manual"

[sinks.lossy]
type = "memory_recorder"
inputs = ["m"]
delay_ms = 1000
buffer = { max_bytes = 1, when_full = "drop_newest" }

[sinks.keep]
type = "memory_recorder"
inputs = ["m"]
`,
    { extra },
  );
  const src = manualSources.get('m')!;
  await src.emit(logs(0, 2));
  t.equal(await src.emit(logs(2, 3), undefined, { wait: false }), 'accepted');
  await eventually(() => received('keep').length === 5 && received('lossy').length === 2, 5000, 'deliveries');
  t.equal(runtime.metrics.componentStats().find((s) => s.id === 'lossy')?.dropped.get('queue_full'), 3);
});
