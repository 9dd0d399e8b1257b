import { connect, headers, type JsMsg, type NatsConnection } from 'nats';
import t from 'tap';
import { decodeBatch, Delivery, encodeBatch, type Json, type LogEvent, type WriteMeta } from '../../../index.js';
import { eventually, logs, received, recorded, standaloneContext, startNats, startPipeline, tempDir, type TestContext } from '../../../testing/index.js';
// eslint-disable-next-line thermocline/plugin-boundary -- the stream is fed by the real nats sink, as it is in production
import sinkPlugin from '../../sinks/nats/index.js';
import { CommittedSequences } from './committed.js';
import source from './index.js';
import { originOf } from './origin.js';

const meta = (seq: number): WriteMeta => ({ delivery: new Delivery('bus', 'i1', seq), attempt: 1 });

async function client(t: TestContext, url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url });
  t.teardown(() => nc.close());
  return nc;
}

/** Publish batches through a real nats sink (which also creates the stream). */
async function publish(t: TestContext, url: string, batches: LogEvent[][]): Promise<void> {
  const { ctx } = standaloneContext('sink', 'bus', 'nats', tempDir(t));
  const s = sinkPlugin.create(sinkPlugin.config.parse({ servers: [url] }), ctx);
  let seq = 1;
  for (const b of batches) await s.write(b, meta(seq++));
  await s.stop?.();
}

const seqsOf = (events: Array<{ labels?: Record<string, string> }>) => events.map((e) => Number(e.labels?.seq)).sort((a, b) => a - b);

t.test('the committed set: runs, pruning below the acknowledgement floor, a bound, a compact checkpoint', async (t) => {
  let set = CommittedSequences.empty('S/c');
  set = set.with([5, 6, 7, 9, 10, 20]).set;
  t.ok(set.has(6) && set.has(9) && set.has(20));
  t.notOk(set.has(8) || set.has(11));
  t.same(set.toCheckpoint(), { v: 1, stream: 'S/c', floor: 0, runs: [5, 3, 2, 2, 10, 1] });
  const back = CommittedSequences.fromCheckpoint('S/c', set.toCheckpoint());
  t.same(back.toCheckpoint(), set.toCheckpoint(), 'round trip');
  t.equal(CommittedSequences.fromCheckpoint('other/c', set.toCheckpoint()).size, 0, 'another stream or consumer starts empty');
  const pruned = set.prunedTo(9);
  t.ok(pruned.has(3), 'at or below the floor: never redelivered');
  t.same(pruned.toCheckpoint(), { v: 1, stream: 'S/c', floor: 9, runs: [10, 1, 10, 1] });
  const capped = set.with([30, 31], 4);
  t.equal(capped.set.size, 3, 'whole runs are dropped until the set fits');
  t.equal(capped.forgotten, 5, 'the oldest runs go first');
  t.ok(capped.set.has(31) && !capped.set.has(10));
});

t.test('gateway: batches from the stream reach the queue once, and are acknowledged', async (t) => {
  const nats = await startNats(t);
  await publish(t, nats.url, [logs(0, 100), logs(100, 100), logs(200, 100)]);
  const { runtime } = await startPipeline(t, `[sources.bus]\ntype = "nats"\nservers = ["${nats.url}"]\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["bus"]\n`);
  await eventually(() => received('rec').length >= 300, 15_000, 'events received');
  t.same(seqsOf(received('rec') as LogEvent[]), Array.from({ length: 300 }, (_, i) => i));
  const nc = await client(t, nats.url);
  const jsm = await nc.jetstreamManager();
  await eventually(async () => (await jsm.consumers.info('TELEMETRY', 'thermocline')).num_ack_pending === 0, 10_000, 'all acknowledged');
  const info = await jsm.consumers.info('TELEMETRY', 'thermocline');
  t.equal(info.ack_floor.stream_seq, 3);
  const cp = runtime.store.getCheckpoint('bus') as { runs: number[] };
  t.same(CommittedSequences.fromCheckpoint('TELEMETRY/thermocline', cp as Json).has(3), true, 'committed sequences are in the checkpoint');
});

t.test('a redelivery of a committed message is acknowledged without emitting it again', async (t) => {
  const nats = await startNats(t);
  await publish(t, nats.url, [logs(0, 10), logs(10, 10), logs(20, 10)]);
  const { source: ctx, emitted } = standaloneContext('source', 'bus', 'nats', tempDir(t));
  // As if a previous run committed sequences 1 and 2 and was killed before acknowledging them.
  await ctx.emit([], CommittedSequences.empty('TELEMETRY/thermocline').with([1, 2]).set.toCheckpoint());
  const s = source.create(source.config.parse({ servers: [nats.url] }), ctx);
  t.teardown(() => s.stop());
  await s.start();
  const nc = await client(t, nats.url);
  const jsm = await nc.jetstreamManager();
  await eventually(async () => (await jsm.consumers.info('TELEMETRY', 'thermocline')).ack_floor.stream_seq === 3, 15_000, 'all three acknowledged');
  const events = emitted.flatMap((e) => e.events) as LogEvent[];
  t.same(seqsOf(events), Array.from({ length: 10 }, (_, i) => 20 + i), 'only the uncommitted message was emitted');
});

t.test('fetch_max_bytes bounds what one transaction takes; every message still arrives once', async (t) => {
  const nats = await startNats(t);
  // Five messages of about 30 KB each (the long messages do not repeat, so they do not shrink).
  const big = (from: number) => logs(from, 100).map((e) => ({ ...e, message: `${e.message} ${String(from * 1000 + Number(e.labels.seq)).padStart(6, '0').repeat(50)}` }));
  await publish(t, nats.url, [big(0), big(100), big(200), big(300), big(400)]);
  const { source: ctx, emitted } = standaloneContext('source', 'bus', 'nats', tempDir(t));
  const s = source.create(source.config.parse({ servers: [nats.url], fetch_max_bytes: '50KiB' }), ctx);
  t.teardown(() => s.stop());
  await s.start();
  await eventually(() => emitted.reduce((n, e) => n + e.events.length, 0) === 500, 15_000, 'all events emitted');
  t.ok(
    emitted.every((e) => (e.origins?.length ?? 0) <= 2),
    `at most two messages per transaction: the second one crosses 50 KiB (${emitted.map((e) => e.origins?.length).join(', ')})`,
  );
  t.same(seqsOf(emitted.flatMap((e) => e.events) as LogEvent[]), Array.from({ length: 500 }, (_, i) => i));
});

t.test('a message not in the configured format is dead-lettered with its stream sequence and raw body, then acknowledged', async (t) => {
  const nats = await startNats(t);
  await publish(t, nats.url, [logs(0, 5)]);
  const nc = await client(t, nats.url);
  const js = nc.jetstream();
  await js.publish('telemetry.log', new TextEncoder().encode('{"not":"a batch"}'));
  const h = headers();
  h.set('Thermocline-Format', 'tc-batch/1');
  await js.publish('telemetry.log', Buffer.from([1, 2, 0xff]), { headers: h });
  const good = encodeBatch(logs(5, 5));
  const h2 = headers();
  h2.set('Thermocline-Format', 'tc-batch/1');
  await js.publish('telemetry.log', good, { headers: h2 });
  const { runtime } = await startPipeline(t, `[sources.bus]\ntype = "nats"\nservers = ["${nats.url}"]\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["bus"]\n`);
  await eventually(() => received('rec').length >= 10 && runtime.store.deadLetterCount('bus') === 2, 15_000, 'good events and two dead letters');
  const dls = runtime.store.deadLetters('bus');
  t.match(dls[0]?.error, /TC_NATS_BAD_MESSAGE: stream TELEMETRY sequence 2 .*no Thermocline-Format header/);
  t.match(dls[1]?.error, /sequence 3 .*undecodable tc-batch\/1 body/);
  const [text] = decodeBatch(dls[0]!.data) as LogEvent[];
  t.equal(text?.message, '{"not":"a batch"}', 'the raw message is kept');
  t.match(text?.labels, { 'nats.stream': 'TELEMETRY', 'nats.seq': '2', 'nats.subject': 'telemetry.log', 'nats.body': 'utf8' });
  const [binary] = decodeBatch(dls[1]!.data) as LogEvent[];
  t.same([binary?.message, binary?.labels['nats.body'], binary?.labels['nats.header.Thermocline-Format']], [Buffer.from([1, 2, 0xff]).toString('base64'), 'base64', 'tc-batch/1'], 'bytes that are not UTF-8 are kept as base64, with the headers');
  const jsm = await nc.jetstreamManager();
  await eventually(async () => (await jsm.consumers.info('TELEMETRY', 'thermocline')).ack_floor.stream_seq === 4, 10_000, 'bad messages acknowledged too');
});

t.test('each message is queued and delivered as its own origin: the Nats-Msg-Id, else the stream sequence', async (t) => {
  const nats = await startNats(t);
  await publish(t, nats.url, [logs(0, 3), logs(3, 4)]);
  const h = headers();
  h.set('Thermocline-Format', 'tc-batch/1');
  await (await client(t, nats.url)).jetstream().publish('telemetry.log', encodeBatch(logs(7, 2)), { headers: h });
  await startPipeline(t, `[sources.bus]\ntype = "nats"\nservers = ["${nats.url}"]\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["bus"]\n`);
  await eventually(() => received('rec').length >= 9, 15_000, 'events received');
  const writes = recorded.get('rec')?.writes ?? [];
  t.same(
    writes.map((w) => [w.delivery.origin, w.delivery.token()]),
    [
      ['nats:TELEMETRY:bus@i1:1', 'rec@origin:nats:TELEMETRY:bus@i1:1'],
      ['nats:TELEMETRY:bus@i1:2', 'rec@origin:nats:TELEMETRY:bus@i1:2'],
      ['nats:TELEMETRY:seq:3', 'rec@origin:nats:TELEMETRY:seq:3'],
    ],
    'one delivery per message, its token the same on every gateway',
  );
  t.same(seqsOf(received('rec') as LogEvent[]), Array.from({ length: 9 }, (_, i) => i));
});

t.test('an identity too long for the core is the SHA-256 of the message id', async (t) => {
  const msg = (id: string | undefined, seq: number) => {
    const h = headers();
    if (id !== undefined) h.set('Nats-Msg-Id', id);
    return { headers: h, seq } as unknown as JsMsg;
  };
  t.equal(originOf('S', msg('edge@abc:12', 3)), 'nats:S:edge@abc:12');
  t.equal(originOf('S', msg(undefined, 3)), 'nats:S:seq:3');
  const long = originOf('S', msg('x'.repeat(300), 3));
  t.match(long, /^nats:S:sha256:[0-9a-f]{64}$/);
  t.equal(long, originOf('S', msg('x'.repeat(300), 9)), 'the same id on every gateway, whatever the sequence');
});

t.test('gateways sharing the durable consumer split the stream between them', async (t) => {
  const nats = await startNats(t);
  await publish(
    t,
    nats.url,
    Array.from({ length: 40 }, (_, i) => logs(i * 25, 25)),
  );
  const conf = (rec: string) => `[sources.bus]\ntype = "nats"\nservers = ["${nats.url}"]\nfetch_batch = 2\n[sinks.${rec}]\ntype = "memory_recorder"\ninputs = ["bus"]\ndelay_ms = 20\n`;
  await Promise.all([startPipeline(t, conf('ga')), startPipeline(t, conf('gb'))]);
  await eventually(() => received('ga').length + received('gb').length >= 1000, 20_000, 'all events');
  t.same(seqsOf([...received('ga'), ...received('gb')] as LogEvent[]), Array.from({ length: 1000 }, (_, i) => i), 'each event once across the pool');
  t.ok(received('ga').length > 0 && received('gb').length > 0, `both gateways got a share (${received('ga').length} / ${received('gb').length})`);
});

t.test('an unreachable cluster and wrong credentials at start: the source fails with its code and retries', async (t) => {
  const nats = await startNats(t, { args: ['--user', 'gw', '--pass', 'right'] });
  const wrong = source.create(source.config.parse({ servers: [nats.url], auth: { user: 'gw', password: 'wrong' } }), standaloneContext('source', 'a', 'nats', tempDir(t)).source);
  await t.rejects(wrong.start(), { code: 'TC_NATS_AUTH' });
  await wrong.stop();
  const down = source.create(source.config.parse({ servers: ['nats://127.0.0.1:1'], connect_timeout: '1s' }), standaloneContext('source', 'b', 'nats', tempDir(t)).source);
  await t.rejects(down.start(), { code: 'TC_NATS_UNREACHABLE' });
  await down.stop();
  const noStream = source.create(source.config.parse({ servers: [nats.url], auth: { user: 'gw', password: 'right' } }), standaloneContext('source', 'c', 'nats', tempDir(t)).source);
  await t.rejects(noStream.start(), { code: 'TC_NATS_STREAM_MISSING' });
  await noStream.stop();
  const { runtime } = await startPipeline(t, `[sources.bus]\ntype = "nats"\nservers = ["nats://127.0.0.1:1"]\nconnect_timeout = "1s"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["bus"]\n`);
  const status = runtime.statuses().find((s) => s.id === 'bus');
  t.equal(status?.state, 'failed', 'shown as failed in /health while it retries');
  t.match(status?.error, /cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
});
