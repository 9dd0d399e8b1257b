/**
 * `SourceContext.emitEncoded`: batches that arrive in the queue's own encoding (a message of the
 * nats sink). With only sinks downstream they are queued byte for byte, without being decoded;
 * with a transform or a live tap they are decoded and emitted like any other batch. Either way
 * each keeps its upstream identity, and the same commit, back-pressure and checks apply
 * (docs/ARCHITECTURE.md#batches-taken-as-they-arrived).
 */
import t from 'tap';
import { CorruptBatchError } from '../../src/core/codec/corrupt.js';
import type { LogEvent } from '../../src/core/events.js';
import { encodeBatch, type EncodedEmit } from '../../src/index.js';
import { received, recorded } from '../helpers/memory-sink.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, startPipeline } from '../helpers/pipeline.js';
import { testTransforms } from '../helpers/test-transforms.js';

const extra = [manualSource, ...testTransforms];
const seqOf = (e: unknown) => Number((e as LogEvent).labels.seq);

const DIRECT = `
[sources.m]
type = "manual"

[sinks.rec]
type = "memory_recorder"
inputs = ["m"]
batch = { max_events = 1000, timeout_secs = 0.05 }
`;

/** Three upstream batches of 4, 3 and 5 events, the first two with an origin, the last without. */
function upstream(): EncodedEmit[] {
  return [
    { data: encodeBatch(logs(0, 4)), origin: 'bus:a' },
    { data: encodeBatch(logs(4, 3)), origin: 'bus:b' },
    { data: encodeBatch(logs(7, 5)) },
  ];
}

t.test('with only sinks downstream, each batch is queued as it arrived, under its origin', async (t) => {
  const { runtime } = await startPipeline(t, DIRECT, { extra });
  const batches = upstream();
  t.equal(await manualSources.get('m')!.emitEncoded(batches, { at: 1 }), 'accepted');
  t.same(runtime.store.getCheckpoint('m'), { at: 1 }, 'the checkpoint committed with the batches');
  await eventually(() => received('rec').length === 12);
  t.same(received('rec').map(seqOf), Array.from({ length: 12 }, (_, i) => i), 'every event once, in order');
  const writes = recorded.get('rec')!.writes;
  t.same(
    writes.slice(0, 2).map((w) => w.delivery.token()),
    ['rec@origin:bus:a', 'rec@origin:bus:b'],
    'each upstream batch delivered alone under its origin token',
  );
  t.equal(writes[2]?.delivery.origin, undefined, 'a batch without an origin gets a queue-named token');
  const stats = runtime.metrics.componentStats().find((s) => s.id === 'm');
  t.equal(stats?.receivedEvents, 12, 'the source counts the events it emitted');
});

t.test('the bytes in the queue are the bytes that arrived', async (t) => {
  const { runtime } = await startPipeline(t, `[shutdown]\ntimeout_secs = 1\n${DIRECT.replace('inputs = ["m"]', 'inputs = ["m"]\ndelay_ms = 5000')}`, { extra });
  const batches = upstream();
  await manualSources.get('m')!.emitEncoded(batches);
  const queue = runtime.queueOf('rec')!;
  const head = queue.head(10);
  const stored = queue.payloads({ first: head[0]!.seq, last: head[head.length - 1]!.seq });
  t.equal(stored.length, 3, 'one queued batch per upstream batch');
  t.ok(
    stored.every((b, i) => Buffer.compare(b.data, batches[i]!.data) === 0),
    'queued byte for byte: no decode and encode on the way',
  );
  t.same(
    stored.map((b) => b.origin ?? null),
    ['bus:a', 'bus:b', null],
  );
});

t.test('with a transform downstream, the batches are decoded, transformed and queued per origin', async (t) => {
  await startPipeline(
    t,
    `
[sources.m]
type = "manual"

[transforms.tag]
type = "test_tag"
inputs = ["m"]
key = "via"
value = "tag"

[sinks.rec]
type = "memory_recorder"
inputs = ["tag"]
batch = { max_events = 1000, timeout_secs = 0.05 }
`,
    { extra },
  );
  await manualSources.get('m')!.emitEncoded(upstream());
  await eventually(() => received('rec').length === 12);
  t.ok(
    received('rec').every((e) => (e as LogEvent).labels.via === 'tag'),
    'the transform ran on every event',
  );
  t.same(
    recorded
      .get('rec')!
      .writes.slice(0, 2)
      .map((w) => w.delivery.token()),
    ['rec@origin:bus:a', 'rec@origin:bus:b'],
    'origins kept through the transform',
  );
});

t.test('a live tap on the source sees the events', async (t) => {
  const { runtime } = await startPipeline(t, DIRECT, { extra });
  const seen: number[] = [];
  const untap = runtime.tap('m', (events) => seen.push(...events.map(seqOf)));
  t.teardown(untap);
  await manualSources.get('m')!.emitEncoded(upstream());
  t.same(seen, Array.from({ length: 12 }, (_, i) => i), 'decoded for the tap');
  await eventually(() => received('rec').length === 12);
});

t.test('a corrupt batch or a bad origin commits nothing of the call', async (t) => {
  const { runtime } = await startPipeline(t, `[shutdown]\ntimeout_secs = 1\n${DIRECT.replace('inputs = ["m"]', 'inputs = ["m"]\ndelay_ms = 5000')}`, { extra });
  const src = manualSources.get('m')!;
  const [good, bad] = [encodeBatch(logs(0, 2)), Buffer.from(encodeBatch(logs(2, 2)))];
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
  await t.rejects(src.emitEncoded([{ data: good }, { data: bad }], { at: 1 }), CorruptBatchError, 'the checksum fails');
  await t.rejects(src.emitEncoded([{ data: good, origin: 'x'.repeat(257) }], { at: 2 }), TypeError, 'an origin longer than 256 characters');
  t.equal(runtime.store.getCheckpoint('m'), undefined, 'no checkpoint');
  t.equal(runtime.queueOf('rec')!.head(10).length, 0, 'nothing queued');
});

t.test('a full queue refuses the call with wait = false, and takes it later', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `
[sources.m]
type = "manual"

[sinks.rec]
type = "memory_recorder"
inputs = ["m"]
delay_ms = 800
buffer = { max_bytes = 1 }
`,
    { extra },
  );
  const src = manualSources.get('m')!;
  t.equal(await src.emitEncoded([{ data: encodeBatch(logs(0, 2)), origin: 'bus:1' }]), 'accepted', 'the first fills the queue');
  t.ok(runtime.queueOf('rec')!.isFull());
  const next = [{ data: encodeBatch(logs(2, 2)), origin: 'bus:2' }];
  t.equal(await src.emitEncoded(next, { at: 2 }, { wait: false }), 'full', 'refused at once');
  t.equal(runtime.store.getCheckpoint('m'), undefined, 'nothing committed for the refused call');
  t.equal(await src.emitEncoded(next, { at: 2 }), 'accepted', 'waits for room, then commits');
  await eventually(() => received('rec').length === 4, 10_000);
  t.same(received('rec').map(seqOf), [0, 1, 2, 3]);
});
