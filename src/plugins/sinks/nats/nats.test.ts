import { AckPolicy, connect, DeliverPolicy, type JsMsg, type NatsConnection } from 'nats';
import t from 'tap';
import { decodeBatch, Delivery, encodeBatch, type SinkInstance, type TelemetryEvent, type WriteMeta } from '../../../index.js';
import { eventually, freePorts, loadTestConfig, logs, manualSource, manualSources, standaloneContext, startNats, startPipeline, tempDir, type TestContext } from '../../../testing/index.js';
// eslint-disable-next-line thermocline/plugin-boundary -- decodes what otlp_proto publishes with the otlp_http source's protobuf definitions
import { otlp } from '../../sources/otlp_http/testdata/harness.js';
import sink from './index.js';

type Options = Record<string, unknown>;

function makeSink(t: TestContext, options: Options): SinkInstance {
  const parsed = sink.config.parse(options);
  const { ctx } = standaloneContext('sink', 'bus', 'nats', tempDir(t));
  const instance = sink.create(parsed, ctx);
  t.teardown(() => instance.stop?.());
  return instance;
}

const meta = (seq: number): WriteMeta => ({ delivery: new Delivery('bus', 'i1', seq), attempt: 1 });

async function client(t: TestContext, url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url });
  t.teardown(() => nc.close());
  return nc;
}

let readers = 0;

/** Every message of a stream, in order. */
async function streamMessages(nc: NatsConnection, stream: string): Promise<JsMsg[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const js = nc.jetstream();
  const name = `read${readers++}`;
  await jsm.consumers.add(stream, { name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, inactive_threshold: 10_000_000_000 });
  const c = await js.consumers.get(stream, name);
  const out: JsMsg[] = [];
  if (info.state.messages === 0) return out;
  const batch = await c.fetch({ max_messages: info.state.messages, expires: 2000 });
  for await (const m of batch) out.push(m);
  return out;
}

t.test('publishes a delivery with its token as Nats-Msg-Id; a replay is dropped by the duplicate window', async (t) => {
  const nats = await startNats(t);
  const s = makeSink(t, { servers: [nats.url] });
  await s.start?.();
  await s.healthcheck?.();
  const events = logs(0, 50);
  await s.write(events, meta(7));
  await s.write(events, meta(7));
  const msgs = await streamMessages(await client(t, nats.url), 'TELEMETRY');
  t.equal(msgs.length, 1, 'the replay with the same token was not stored again');
  const m = msgs[0] as JsMsg;
  t.equal(m.headers?.get('Nats-Msg-Id'), 'bus@i1:7');
  t.equal(m.headers?.get('Thermocline-Format'), 'tc-batch/1');
  t.equal(m.headers?.get('Thermocline-Events'), '50');
  t.equal(m.subject, 'telemetry.log');
  t.same(decodeBatch(Buffer.from(m.data)), events);
});

t.test('a delivery above the message limit is split into parts with distinct, deterministic ids', async (t) => {
  const nats = await startNats(t);
  const s = makeSink(t, { servers: [nats.url], max_message_bytes: '2KiB' });
  const events = logs(0, 300, 'x'.repeat(40));
  await s.write(events, meta(1));
  await s.write(events, meta(1));
  const msgs = await streamMessages(await client(t, nats.url), 'TELEMETRY');
  t.ok(msgs.length > 4, `split into ${msgs.length} messages`);
  t.ok(msgs.every((m) => m.data.length <= 2048));
  t.same(
    msgs.map((m) => m.headers?.get('Nats-Msg-Id')),
    msgs.map((_, i) => `bus@i1:1:${i + 1}/${msgs.length}`),
    'ids name the part; the replay produced the same ones and was dropped',
  );
  t.same(
    msgs.flatMap((m) => decodeBatch(Buffer.from(m.data))),
    events,
    'every event once, in order',
  );
});

t.test('with one subject, queued batches are published as queued; small ones are merged, large ones split', async (t) => {
  const nats = await startNats(t);
  const s = makeSink(t, { servers: [nats.url], subject: 'edge.all', max_message_bytes: '64KiB' });
  t.type(s.writeEncoded, 'function', 'the sink takes deliveries as queued');
  t.type(makeSink(t, { servers: [nats.url] }).writeEncoded, 'undefined', 'not with a subject template: events must be grouped by subject');
  const big = [logs(0, 400, 'x'.repeat(20)), logs(400, 400, 'y'.repeat(20))].map((events) => ({ data: Buffer.from(encodeBatch(events)), events: events.length }));
  t.ok(big.every((b) => b.data.length > 8 * 1024 && b.data.length < 64 * 1024), 'two batches large enough to travel alone');
  await s.writeEncoded!(big, meta(10));
  await s.writeEncoded!(big, meta(10));
  const small = [logs(800, 3), logs(803, 2)].map((events) => ({ data: Buffer.from(encodeBatch(events)), events: events.length }));
  await s.writeEncoded!(small, meta(11));
  const huge = [logs(805, 3000, 'z'.repeat(40))].map((events) => ({ data: Buffer.from(encodeBatch(events)), events: events.length }));
  await s.writeEncoded!(huge, meta(12));
  const msgs = await streamMessages(await client(t, nats.url), 'TELEMETRY');
  const ids = msgs.map((m) => m.headers?.get('Nats-Msg-Id'));
  t.same(ids.slice(0, 3), ['bus@i1:10:1/2', 'bus@i1:10:2/2', 'bus@i1:11'], 'one message per large batch (the replay dropped); the small ones as one');
  t.same(Buffer.from(msgs[0]!.data), big[0]!.data, 'the queued bytes, unchanged');
  t.ok(ids.slice(3).every((id, i, all) => id === `bus@i1:12:${i + 1}/${all.length}`) && ids.length > 4, 'the batch above the limit was split');
  t.same(
    msgs.flatMap((m) => decodeBatch(Buffer.from(m.data))).map((e) => e.kind === 'log' && e.labels.seq),
    Array.from({ length: 3805 }, (_, i) => String(i)),
    'every event once, in order',
  );
  t.ok(msgs.every((m) => m.subject === 'edge.all' && Number(m.headers?.get('Thermocline-Events')) === decodeBatch(Buffer.from(m.data)).length));
});

t.test('subject templates publish within the declared values', async (t) => {
  const nats = await startNats(t);
  const s = makeSink(t, { servers: [nats.url], subject: 'tel.{kind}.{service}', subject_values: { service: ['svc'] } });
  const other: TelemetryEvent = { kind: 'event', time_us: 1, type: 'deploy', service: 'unlisted', severity: 'info', payload: {} };
  const metric: TelemetryEvent = { kind: 'metric', type: 'gauge', name: 'g', labels: {}, time_us: 1, value: 1 };
  await s.write([...logs(0, 2), other, metric], meta(1));
  const msgs = await streamMessages(await client(t, nats.url), 'TELEMETRY');
  t.same(msgs.map((m) => m.subject).sort(), ['tel.event._other', 'tel.log.svc', 'tel.metric._none']);
});

t.test('an unbounded subject template is a configuration error', async (t) => {
  await t.rejects(loadTestConfig(`[sources.m]\ntype = "manual"\n[sinks.bus]\ntype = "nats"\ninputs = ["m"]\nservers = ["nats://127.0.0.1:1"]\nsubject = "t.{service}"\n`, { dataDir: tempDir(t), extra: [manualSource] }), {
    code: 'TC_CONFIG_INVALID',
    message: /subject_values\.service: TC_NATS_SUBJECT_UNBOUNDED/,
  });
  await t.rejects(loadTestConfig(`[sources.m]\ntype = "manual"\n[sinks.bus]\ntype = "nats"\ninputs = ["m"]\nservers = ["nats://127.0.0.1:1"]\nsubject = "t.{host}"\nauth = { token = "a", user = "u" }\n`, { dataDir: tempDir(t), extra: [manualSource] }), {
    message: /^(?=[\s\S]*unknown placeholder \{host\})(?=[\s\S]*exactly one of)/,
  });
});

t.test('otlp_proto messages are OTLP export requests per signal', async (t) => {
  const nats = await startNats(t);
  const s = makeSink(t, { servers: [nats.url], format: 'otlp_proto', subject: 'otlp.{kind}' });
  await s.write(logs(0, 3), meta(1));
  const msgs = await streamMessages(await client(t, nats.url), 'TELEMETRY');
  t.equal(msgs.length, 1);
  const m = msgs[0] as JsMsg;
  t.equal(m.headers?.get('Thermocline-Format'), 'otlp-proto/1');
  t.equal(m.headers?.get('Otlp-Signal'), 'logs');
  const req = otlp.collector.logs.v1.ExportLogsServiceRequest.decode(m.data);
  t.equal(req.resourceLogs[0].scopeLogs[0].logRecords.length, 3);
});

t.test('an existing stream with other settings is a clear error, never changed', async (t) => {
  const nats = await startNats(t);
  const nc = await client(t, nats.url);
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'TELEMETRY', subjects: ['telemetry.*'], max_age: 60_000_000_000 });
  const s = makeSink(t, { servers: [nats.url], stream: { duplicate_window: '1m' } });
  await t.rejects(s.healthcheck?.() as Promise<void>, { code: 'TC_NATS_STREAM_INCOMPATIBLE', message: /max_age: 60s → 604800s/ });
  await t.rejects(s.write(logs(0, 1), meta(1)), { name: 'RetryableError', code: 'TC_NATS_STREAM_INCOMPATIBLE' });
  t.equal((await jsm.streams.info('TELEMETRY')).config.max_age, 60_000_000_000, 'the stream was left alone');
  const verify = makeSink(t, { servers: [nats.url], stream: { name: 'OTHER', mode: 'verify' } });
  await t.rejects(verify.healthcheck?.() as Promise<void>, { code: 'TC_NATS_STREAM_MISSING' });
});

t.test('wrong credentials and an unreachable cluster are retryable errors with their codes', async (t) => {
  const nats = await startNats(t, { args: ['--user', 'edge', '--pass', 'right'] });
  const wrong = makeSink(t, { servers: [nats.url], auth: { user: 'edge', password: 'wrong' } });
  await t.rejects(wrong.write(logs(0, 1), meta(1)), { name: 'RetryableError', code: 'TC_NATS_AUTH' });
  const right = makeSink(t, { servers: [nats.url], auth: { user: 'edge', password: 'right' } });
  await right.write(logs(0, 1), meta(1));
  const [port] = await freePorts(1);
  const down = makeSink(t, { servers: [`nats://127.0.0.1:${port}`], connect_timeout: '1s' });
  await t.rejects(down.write(logs(0, 1), meta(1)), { name: 'RetryableError', code: 'TC_NATS_UNREACHABLE' });
  const token = await startNats(t, { args: ['--auth', 's3cret'] });
  await makeSink(t, { servers: [token.url], auth: { token: 's3cret' } }).write(logs(0, 1), meta(1));
  t.pass('token auth');
});

t.test('an edge whose cluster is down keeps buffering and drains when it returns', async (t) => {
  const nats = await startNats(t);
  const { runtime } = await startPipeline(
    t,
    `[sources.m]\ntype = "manual"\n[sinks.bus]\ntype = "nats"\ninputs = ["m"]\nservers = ["${nats.url}"]\nrequest_timeout = "1s"\nretry = { initial_backoff_secs = 0.05, max_backoff_secs = 0.5 }\n`,
    { extra: [manualSource] },
  );
  const m = manualSources.get('m')!;
  await m.emit(logs(0, 100));
  const nc = await client(t, nats.url);
  const jsm = await nc.jetstreamManager();
  await eventually(async () => (await jsm.streams.info('TELEMETRY')).state.messages >= 1, 10_000, 'first batch stored');
  await nc.close();
  await nats.kill();
  for (let i = 1; i <= 5; i++) await m.emit(logs(i * 100, 100));
  await eventually(() => runtime.statuses().find((s) => s.id === 'bus')?.state === 'degraded', 15_000, 'sink degraded while the cluster is down');
  await nats.start();
  const nc2 = await client(t, nats.url);
  const jsm2 = await nc2.jetstreamManager();
  let all: TelemetryEvent[] = [];
  await eventually(
    async () => {
      const info = await jsm2.streams.info('TELEMETRY').catch(() => undefined);
      if (!info || info.state.messages < 2) return false;
      all = (await streamMessages(nc2, 'TELEMETRY')).flatMap((x) => decodeBatch(Buffer.from(x.data)));
      return all.length >= 600;
    },
    30_000,
    'the queue drained into the stream',
  );
  await eventually(() => runtime.statuses().find((s) => s.id === 'bus')?.state === 'running', 10_000, 'sink running again');
  t.equal(new Set(all.map((e) => (e as { labels: Record<string, string> }).labels.seq)).size, 600);
  t.equal(all.length, 600, 'each event once');
});
