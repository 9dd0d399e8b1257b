/**
 * The NATS JetStream hop (docs/scaling.md): edge → single-node JetStream → gateway → blackhole,
 * beside the `nats` client's own publish-and-consume loop of the same bytes, in one script.
 *
 *   sink alone  the nats sink's write() called with deliveries of BATCH events (encode, split to
 *               max_payload, publish pipelined, wait for every PubAck): the edge side's ceiling.
 *   pipeline    an edge runtime (a source emitting pre-built batches → disk queue → nats sink) and a
 *               gateway runtime (nats source → disk queue → a counting sink) in this process,
 *               from the first emit until the gateway's sink has seen every event.
 *   baseline    the bare client: the same encoded batches published with js.publish (pipelined,
 *               each awaited for its PubAck, as the sink does) while a pull consumer's consume()
 *               loop acknowledges them; from the first publish until the last one is acknowledged.
 *
 * Events: generator logs (~100-byte messages), encoded with the queue's batch codec. Goal in the
 * design documents: pipeline ≥ 0.7× the baseline, ≥ 100 MB/s through the sink alone.
 *
 *   npx tsx bench/nats.ts [events=400000] [batch=5000]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AckPolicy, connect, type NatsConnection } from 'nats';
import pino from 'pino';
import { z } from 'zod';
import { parseConfig } from '../src/core/config/load.js';
import { freePorts } from '../src/core/net.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import { defineSink, defineSource, Delivery, encodeBatch, type TelemetryEvent } from '../src/index.js';
import natsSink from '../src/plugins/sinks/nats/index.js';
import { builtinRegistry } from '../src/plugins/registry.js';
import { Synthesizer } from '../src/plugins/sources/generator/synth.js';
import { natsServerBinary } from '../src/testing/nats.js';
import { standaloneContext } from '../src/testing/context.js';

const EVENTS = Number(process.argv[2] ?? 400_000);
const BATCH = Number(process.argv[3] ?? 5000);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-nats-'));
let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const synth = new Synthesizer({ rate: 0, kinds: ['log'], batch_size: BATCH, service: 'bench', message_bytes: 100 });
const batches: TelemetryEvent[][] = [];
for (let i = 0; i < EVENTS; i += BATCH) batches.push(Array.from({ length: Math.min(BATCH, EVENTS - i) }, (_, j) => synth.make(i + j, Date.now() * 1000)));
const encoded = batches.map((b) => Buffer.from(encodeBatch(b)));
const BYTES = encoded.reduce((n, b) => n + b.length, 0);

const [port] = await freePorts(1);
const server = spawn(natsServerBinary() ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(scratch, 'js')], { stdio: ['ignore', 'ignore', 'pipe'] });
let serverLog = '';
server.stderr.on('data', (d: Buffer) => (serverLog += d.toString()));
while (!/Server is ready/.test(serverLog)) await new Promise((r) => setTimeout(r, 20));
const url = `nats://127.0.0.1:${port}`;
const nc: NatsConnection = await connect({ servers: url });
const jsm = await nc.jetstreamManager();

const rate = (ms: number) => ({ eps: EVENTS / (ms / 1000), mbps: BYTES / 1e6 / (ms / 1000) });
const show = (name: string, ms: number) => {
  const r = rate(ms);
  console.log(`${name.padEnd(12)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${Math.round(r.eps).toLocaleString('en').padStart(11)} events/s  ${r.mbps.toFixed(1).padStart(7)} MB/s`);
  return r;
};

/** The bare client: publish (pipelined, every PubAck awaited) while a pull consumer fetches and acks. */
async function baseline(): Promise<number> {
  await jsm.streams.add({ name: 'BASE', subjects: ['base.>'] });
  await jsm.consumers.add('BASE', { durable_name: 'c', ack_policy: AckPolicy.Explicit, max_ack_pending: 1000 });
  const js = nc.jetstream();
  const consumer = await js.consumers.get('BASE', 'c');
  const start = performance.now();
  const consume = (async () => {
    let got = 0;
    const msgs = await consumer.consume({ max_messages: 256 });
    for await (const m of msgs) {
      m.ack();
      if (++got >= encoded.length) break;
    }
  })();
  const inflight = new Set<Promise<unknown>>();
  for (const [i, body] of encoded.entries()) {
    const p = js.publish('base.log', body, { msgID: `b${i}` }).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 32) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await consume;
  return performance.now() - start;
}

/** The nats sink's write() alone, deliveries of BATCH events in a row. */
async function sinkAlone(): Promise<number> {
  const { ctx } = standaloneContext('sink', 'alone', 'nats', scratch);
  const sink = natsSink.create(natsSink.config.parse({ servers: [url], subject: 'alone.{kind}', stream: { name: 'ALONE' } }), ctx);
  await sink.start?.();
  await sink.healthcheck?.();
  const start = performance.now();
  for (const [i, b] of batches.entries()) await sink.write(b, { delivery: new Delivery('alone', 'bench', i), attempt: 1 });
  const ms = performance.now() - start;
  await sink.stop?.();
  return ms;
}

/** Edge runtime → JetStream → gateway runtime → counting sink. */
async function pipeline(): Promise<number> {
  let emitted = false;
  const feed = defineSource({
    type: 'bench_feed',
    summary: 'Emits the pre-built batches once.',
    config: z.strictObject({}),
    create(_c, ctx) {
      return {
        async start() {
          if (emitted) return;
          emitted = true;
          void (async () => {
            for (const b of batches) await ctx.emit(b);
          })();
        },
        async stop() {},
      };
    },
  });
  let received = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  const counter = defineSink({
    type: 'bench_count',
    summary: 'Counts events, like blackhole, and says when all arrived.',
    config: z.strictObject({}),
    batch: { max_events: 10_000, timeout_secs: 0.05 },
    create() {
      return {
        async write(events) {
          received += events.length;
          if (received >= EVENTS) done();
        },
      };
    },
  });
  const registry = builtinRegistry();
  registry.register(feed);
  registry.register(counter);
  const logger = pino({ level: 'warn' });
  const gatewayConfig = await parseConfig(
    `data_dir = ${JSON.stringify(path.join(scratch, 'gateway'))}\n[api]\nenabled = false\n[sources.bus]\ntype = "nats"\nservers = ["${url}"]\nstream = "PIPE"\nfetch_batch = ${Number(process.env.FETCH_BATCH ?? 16)}\n[sinks.count]\ntype = "bench_count"\ninputs = ["bus"]\n`,
    { registry, env: {} },
  );
  const edgeConfig = await parseConfig(
    `data_dir = ${JSON.stringify(path.join(scratch, 'edge'))}\n[api]\nenabled = false\n[sources.feed]\ntype = "bench_feed"\n[sinks.bus]\ntype = "nats"\ninputs = ["feed"]\nservers = ["${url}"]\nsubject = "pipe.{kind}"\nstream = { name = "PIPE" }\nbatch = { max_events = ${BATCH} }\n`,
    { registry, env: {} },
  );
  // The stream must exist before the gateway binds its consumer: create it through the edge's sink.
  await jsm.streams.add({ name: 'PIPE', subjects: ['pipe.*'], max_age: 7 * 86_400 * 1e9, max_bytes: 10 * 1024 ** 3, duplicate_window: 120e9, discard: 'new' as never });
  const gateway = await Runtime.start(gatewayConfig, { logger });
  const start = performance.now();
  const edge = await Runtime.start(edgeConfig, { logger });
  const progress = process.env.BENCH_PROGRESS
    ? setInterval(() => {
        void jsm.streams.info('PIPE').then((i) => console.log(`  ${((performance.now() - start) / 1000).toFixed(1)} s: stream ${i.state.messages} messages, gateway received ${received} events`));
      }, 2000)
    : undefined;
  await all;
  clearInterval(progress);
  const ms = performance.now() - start;
  await edge.stop();
  await gateway.stop();
  return ms;
}

console.log(`${EVENTS.toLocaleString('en')} log events in batches of ${BATCH}: ${(BYTES / 1e6).toFixed(1)} MB encoded (${(BYTES / EVENTS).toFixed(0)} B/event), nats-server ${serverLog.match(/Version:\s+(\S+)/)?.[1] ?? ''}`);
const base = show('baseline', await baseline());
const alone = show('sink alone', await sinkAlone());
const pipe = show('pipeline', await pipeline());
console.log(`pipeline / baseline: ${(pipe.eps / base.eps).toFixed(2)}×   sink alone / baseline: ${(alone.eps / base.eps).toFixed(2)}×`);
clearInterval(rssTimer);
console.log(`peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MiB (one process: both runtimes, the bare client and the pre-built events)`);
await nc.close();
server.kill('SIGTERM');
fs.rmSync(scratch, { recursive: true, force: true });
