/**
 * The NATS JetStream hop (docs/scaling.md): edge → single-node JetStream → gateway → blackhole,
 * beside the `nats` client's own publish-and-consume loop of the same bytes, in one script.
 *
 * Edges and gateways are separate machines in production, so each side runs in a process of its
 * own here, for the agent and for the bare client alike:
 *
 *   pipeline    an edge agent process (a source emitting 8 pre-built batches in turn → disk
 *               queue → nats sink) and a gateway agent process (nats source → disk queue → blackhole), from the
 *               first emit until the gateway's sink has seen every event.
 *   baseline    a publisher process (the same encoded batches, js.publish pipelined, every PubAck
 *               awaited, as the sink does) and a consumer process (a pull consumer's consume()
 *               loop acknowledging them), from the first publish until the last acknowledgement.
 *   sink alone  in this process: the nats sink's writeEncoded() with deliveries of one queued
 *               batch of BATCH events (publish as queued, every PubAck), as the edge's sink runs:
 *               the edge side's ceiling; then write() of the same events with a subject template
 *               (`alone.{kind}`), which encodes each delivery.
 *
 * Events: generator logs (~100-byte messages), encoded with the queue's batch codec. Every run
 * prints events/s, MB/s, the ratio, each process's peak RSS, and the CPU seconds each process
 * (nats-server's too) spent while timed. Goal: pipeline ≥ 0.7× the baseline, ≥ 100 MB/s through
 * the sink alone.
 *
 *   [ROUNDS=1] npx tsx bench/nats.ts [events=1000000] [batch=5000] [subject=pipe.log]
 *
 * ROUNDS=n runs baseline and pipeline n times, alternating which goes first, each on fresh
 * streams and queues, and prints each round's ratio and the median of them: one run of this
 * machine's two cores moved the ratio between 0.55× and 0.98× (docs/performance.md, the NATS row).
 *
 * A million events make each run 2-4 s: with 400,000 the baseline took 0.7 s, and the time the
 * first batch needs to cross both agents weighed on the ratio more than the rate did.
 *
 * EDGE_BATCH=n sets the edge sink's delivery size in events (default: the sink's own default,
 * 20,000 events or 4 MiB); a delivery of several queued batches publishes them in parallel. BENCH_PROGRESS=1 prints the stream and the
 * consumer while the pipeline runs; BENCH_PROF=dir writes a CPU profile of each child process.
 *
 * A subject with a placeholder (`pipe.{kind}`) makes the edge decode and re-encode each delivery
 * (see the sink's README, "Published as queued").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AckPolicy, connect } from 'nats';
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
import { cpuSeconds, median, peakRss } from './process-figures.js';

const [role, url, scratchArg] = process.env.BENCH_ROLE ? [process.env.BENCH_ROLE, process.env.BENCH_URL as string, process.env.BENCH_DIR as string] : [undefined, '', ''];
const EVENTS = Number(process.argv[2] ?? 1_000_000);
const BATCH = Number(process.argv[3] ?? 5000);
/** Each round has streams of its own, so each starts empty; parent and children name them here. */
function streamsOf(round: string | number) {
  return { base: `BASE${round}`, baseSubjects: `base${round}.>`, baseSubject: `base${round}.log`, pipe: `PIPE${round}`, pipeSubjects: `pipe${round}.>` };
}
const ROUND = process.env.BENCH_ROUND ?? '0';
const STREAMS = streamsOf(ROUND);
const SUBJECT = (process.argv[4] ?? 'pipe.log').replace(/^pipe\./, `pipe${ROUND}.`);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
/** The events, one batch at a time, made when asked for (as a source makes them). */
function* makeBatches(): Generator<TelemetryEvent[]> {
  const synth = new Synthesizer({ rate: 0, kinds: ['log'], batch_size: BATCH, service: 'bench', message_bytes: 100 });
  for (let i = 0; i < EVENTS; i += BATCH) yield Array.from({ length: Math.min(BATCH, EVENTS - i) }, (_, j) => synth.make(i + j, Date.now() * 1000));
}

const buildBatches = (): TelemetryEvent[][] => [...makeBatches()];

/**
 * A child's side of the protocol: "ready" once set up, wait for "go", then
 * "done <peak RSS bytes> <CPU µs> <redelivered messages>".
 */
async function child(setUp: () => Promise<() => Promise<number | void>>): Promise<void> {
  process.on('SIGINT', () => process.exit(0));
  const run = await setUp();
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => readline.createInterface({ input: process.stdin }).once('line', () => resolve()));
  const before = process.cpuUsage();
  const redelivered = (await run()) ?? 0;
  const cpu = process.cpuUsage(before);
  process.stdout.write(`done ${process.resourceUsage().maxRSS * 1024} ${cpu.user + cpu.system} ${redelivered}\n`);
  process.exit(0);
}

/** Resolves with what a count-and-signal sink saw: every event, then `done`. */
function countingSink(onAll: () => void) {
  let received = 0;
  const count = (n: number) => {
    received += n;
    if (received >= EVENTS) onAll();
  };
  return defineSink({
    type: 'bench_count',
    summary: 'Counts events like blackhole (undecoded) and says when all arrived.',
    config: z.strictObject({}),
    batch: { max_events: 10_000, timeout_secs: 0.05 },
    create: () => ({
      async write(events) {
        count(events.length);
      },
      async writeEncoded(batches) {
        for (const b of batches) count(b.events);
      },
    }),
  });
}

async function agent(toml: string, extra: Parameters<ReturnType<typeof builtinRegistry>['register']>[0][]): Promise<Runtime> {
  const registry = builtinRegistry();
  for (const p of extra) registry.register(p);
  return Runtime.start(await parseConfig(toml, { registry, env: {} }), { logger: pino({ level: 'warn' }) });
}

if (role === 'edge') {
  await child(async () => {
    // A few batches, made before the clock starts and emitted in turn: making the events is the
    // source's work, not the hop's (a third of the edge's time with the generator), and an edge
    // holding all of them at once would spend a quarter of its time in the garbage collector.
    const pool: TelemetryEvent[][] = [];
    for (const b of makeBatches()) if (pool.push(b) === 8) break;
    let go: () => void = () => {};
    const started = new Promise<void>((r) => (go = r));
    const feed = defineSource({
      type: 'bench_feed',
      summary: 'Emits EVENTS events once, when told, cycling through a few pre-built batches.',
      config: z.strictObject({}),
      create: (_c, ctx) => ({
        async start() {
          void started.then(async () => {
            // Each emit yields to the event loop afterwards, as a source waiting on its input does
            // (a file read, a request): a loop of emits alone would hold the sink's publishing
            // back until the last batch is queued.
            for (let i = 0; i < EVENTS; i += BATCH) {
              await ctx.emit(pool[(i / BATCH) % pool.length] as TelemetryEvent[]);
              await new Promise((r) => setImmediate(r));
            }
          });
        },
        async stop() {},
      }),
    });
    await agent(
      `data_dir = ${JSON.stringify(path.join(scratchArg, 'edge'))}\n[api]\nenabled = false\n[sources.feed]\ntype = "bench_feed"\n[sinks.bus]\ntype = "nats"\ninputs = ["feed"]\nservers = ["${url}"]\nsubject = "${SUBJECT}"\nstream = { name = "${STREAMS.pipe}", subjects = ["${STREAMS.pipeSubjects}"] }\n${process.env.EDGE_BATCH ? `batch = { max_events = ${Number(process.env.EDGE_BATCH)}, max_bytes = "64MiB" }\n` : ''}`,
      [feed],
    );
    // The edge's part ends when its queue is drained; the parent times the gateway's end.
    return async () => {
      go();
      await new Promise(() => {});
    };
  });
} else if (role === 'gateway') {
  await child(async () => {
    let all: () => void = () => {};
    const arrived = new Promise<void>((r) => (all = r));
    await agent(`data_dir = ${JSON.stringify(path.join(scratchArg, 'gateway'))}\n[api]\nenabled = false\n[sources.bus]\ntype = "nats"\nservers = ["${url}"]\nstream = "${STREAMS.pipe}"\n[sinks.count]\ntype = "bench_count"\ninputs = ["bus"]\n`, [countingSink(() => all())]);
    return () => arrived;
  });
} else if (role === 'publisher') {
  await child(async () => {
    // Only the bytes are kept: holding every event as well would leave the publisher a heap of
    // garbage to collect while it is being timed.
    const encoded: Buffer[] = [];
    for (const b of makeBatches()) encoded.push(Buffer.from(encodeBatch(b)));
    const nc = await connect({ servers: url });
    const js = nc.jetstream();
    return async () => {
      const inflight = new Set<Promise<unknown>>();
      for (const [i, body] of encoded.entries()) {
        const p = js.publish(STREAMS.baseSubject, body, { msgID: `b${i}` }).finally(() => inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= 32) await Promise.race(inflight);
      }
      await Promise.all(inflight);
      await new Promise(() => {});
    };
  });
} else if (role === 'consumer') {
  await child(async () => {
    const nc = await connect({ servers: url });
    const consumer = await nc.jetstream().consumers.get(STREAMS.base, 'c');
    const messages = Math.ceil(EVENTS / BATCH);
    return async () => {
      // Counted by stream sequence: a message the client lost in transit comes again after
      // ack_wait (30 s), marked redelivered (in 6 of 39 rounds on one server; such a round is
      // left out of the medians).
      const seen = new Set<number>();
      let redelivered = 0;
      for await (const m of await consumer.consume({ max_messages: 256 })) {
        m.ack();
        if (m.redelivered) redelivered++;
        seen.add(m.seq);
        if (seen.size >= messages) break;
      }
      return redelivered;
    };
  });
} else {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-bench-nats-'));
  const [port] = await freePorts(1);
  const server = spawn(natsServerBinary() ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(scratch, 'js')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let serverLog = '';
  server.stderr.on('data', (d: Buffer) => (serverLog += d.toString()));
  while (!/Server is ready/.test(serverLog)) await new Promise((r) => setTimeout(r, 20));
  const natsUrl = `nats://127.0.0.1:${port}`;
  const nc = await connect({ servers: natsUrl });
  const jsm = await nc.jetstreamManager();
  const batches = buildBatches();
  const BYTES = batches.reduce((n, b) => n + encodeBatch(b).length, 0);
  const self = fileURLToPath(import.meta.url);

  const spawnRole = (name: string, dir: string, round: string) => {
    const prof = process.env.BENCH_PROF ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
    const p = spawn(process.execPath, [...prof, '--import', 'tsx', self, ...process.argv.slice(2)], {
      env: { ...process.env, BENCH_ROLE: name, BENCH_URL: natsUrl, BENCH_DIR: dir, BENCH_ROUND: round },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = readline.createInterface({ input: p.stdout as NonNullable<ChildProcess['stdout']> });
    const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
    return { p, next };
  };
  /** Start both sides, wait until both are ready, say go to both, time until the receiving side is done. */
  const timed = async (sender: string, receiver: string, dir: string, round: string) => {
    const s = spawnRole(sender, dir, round);
    const r = spawnRole(receiver, dir, round);
    await Promise.all([s.next(), r.next()]);
    const start = performance.now();
    const senderCpuAtGo = cpuSeconds(s.p.pid as number) * 1e6;
    const serverCpuAtGo = cpuSeconds(server.pid as number) * 1e6;
    const done = r.next();
    s.p.stdin?.write('go\n');
    r.p.stdin?.write('go\n');
    const line = await done;
    const ms = performance.now() - start;
    // The sender's peak and CPU time, from its own status files, before it is stopped.
    const senderRss = peakRss(s.p.pid as number);
    const senderCpuUs = cpuSeconds(s.p.pid as number) * 1e6 - senderCpuAtGo;
    const serverCpuUs = cpuSeconds(server.pid as number) * 1e6 - serverCpuAtGo;
    // SIGINT lets a profiled child write its profile; the children exit on it.
    s.p.kill('SIGINT');
    r.p.kill('SIGINT');
    const [, receiverRss, receiverCpuUs, redelivered] = line.split(' ').map(Number);
    return { ms, rss: [senderRss, receiverRss ?? 0], cpu: [senderCpuUs, receiverCpuUs ?? 0, serverCpuUs], redelivered: redelivered ?? 0 };
  };
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
  const show = (name: string, ms: number, rss?: number[], cpu?: number[]) => {
    const eps = EVENTS / (ms / 1000);
    const mbps = BYTES / 1e6 / (ms / 1000);
    // From "go" to the end: each process's set-up (loading the code, making the batches) is not counted.
    const cpuText = cpu ? `  CPU ${cpu.map((us) => `${(us / 1e6).toFixed(2)} s`).join(' / ')}` : '';
    console.log(
      `${name.padEnd(12)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${Math.round(eps).toLocaleString('en').padStart(11)} events/s  ${mbps.toFixed(1).padStart(7)} MB/s${rss ? `  peak RSS ${mib(rss[0] ?? 0)} / ${mib(rss[1] ?? 0)}` : ''}${cpuText}`,
    );
    return eps;
  };

  console.log(`${EVENTS.toLocaleString('en')} log events in batches of ${BATCH}: ${(BYTES / 1e6).toFixed(1)} MB encoded (${(BYTES / EVENTS).toFixed(0)} B/event), subject ${SUBJECT}, nats-server ${serverLog.match(/Version:\s+(\S+)/)?.[1] ?? ''}, ${os.cpus().length} cores`);
  /** The bare client: publisher → stream → consumer, on the round's own stream, deleted after it. */
  const baseline = async (dir: string, round: number) => {
    const { base: name, baseSubjects } = streamsOf(round);
    await jsm.streams.add({ name, subjects: [baseSubjects] });
    await jsm.consumers.add(name, { durable_name: 'c', ack_policy: AckPolicy.Explicit, max_ack_pending: 1000 });
    const base = await timed('publisher', 'consumer', dir, String(round));
    await jsm.streams.delete(name);
    const eps = show('baseline', base.ms, base.rss, base.cpu);
    if (base.redelivered > 0) console.log(`  the bare consumer got ${base.redelivered} message(s) only when JetStream redelivered them after ack_wait: round left out of the medians`);
    return base.redelivered > 0 ? undefined : eps;
  };
  /** Edge → stream → gateway, likewise; the stream exists before the gateway binds its consumer. */
  const pipeline = async (dir: string, round: number) => {
    const { pipe: name, pipeSubjects } = streamsOf(round);
    await jsm.streams.add({ name, subjects: [pipeSubjects], max_age: 7 * 86_400 * 1e9, max_bytes: 10 * 1024 ** 3, duplicate_window: 120e9, discard: 'new' as never });
    const t0 = performance.now();
    const progress = process.env.BENCH_PROGRESS
      ? setInterval(() => {
          void Promise.all([jsm.streams.info(name), jsm.consumers.list(name).next()]).then(([i, consumers]) =>
            console.log(`  ${((performance.now() - t0) / 1000).toFixed(1)} s: stream ${i.state.messages} messages; consumer ${consumers.map((c) => `${c.name} delivered ${c.delivered.stream_seq}, ack floor ${c.ack_floor.stream_seq}, pending ${c.num_pending}`).join('; ')}`),
          );
        }, 250)
      : undefined;
    const pipe = await timed('edge', 'gateway', dir, String(round));
    clearInterval(progress);
    await jsm.streams.delete(name);
    return show('pipeline', pipe.ms, pipe.rss, pipe.cpu);
  };
  // Rounds alternate which side goes first, so that neither always runs on a server (and a page
  // cache) still busy with the other's 156 MB; each round has fresh streams and queues.
  const ratios: number[] = [];
  const baseRates: number[] = [];
  const pipeRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const dir = path.join(scratch, `round-${round}`);
    fs.mkdirSync(dir);
    if (ROUNDS > 1) console.log(`round ${round + 1} of ${ROUNDS}`);
    let b: number | undefined;
    let p = 0;
    if (round % 2 === 0) {
      b = await baseline(dir, round);
      p = await pipeline(dir, round);
    } else {
      p = await pipeline(dir, round);
      b = await baseline(dir, round);
    }
    if (b === undefined) continue;
    baseRates.push(b);
    pipeRates.push(p);
    ratios.push(p / b);
    if (ROUNDS > 1) console.log(`  pipeline / baseline: ${(p / b).toFixed(2)}×`);
  }
  if (ratios.length === 0) throw new Error('every baseline round waited for a redelivery: no ratio to report');
  const baseEps = median(baseRates);
  const pipeEps = median(pipeRates);

  // The sink alone, as the edge uses it (one subject: queued batches published as they are), and
  // with a subject template, which makes it take events and encode them.
  const { ctx } = standaloneContext('sink', 'alone', 'nats', scratch);
  const sink = natsSink.create(natsSink.config.parse({ servers: [natsUrl], subject: 'alone.log', stream: { name: 'ALONE', subjects: ['alone.>'] } }), ctx);
  await sink.start?.();
  await sink.healthcheck?.();
  const queued = batches.map((b) => ({ data: Buffer.from(encodeBatch(b)), events: b.length }));
  // The server is still writing the pipeline's streams for a moment: whichever run came first
  // after the pipeline took 2-4x longer (measured), so give it time to settle.
  await new Promise((r) => setTimeout(r, 3000));
  let start = performance.now();
  for (const [i, b] of queued.entries()) await sink.writeEncoded?.([b], { delivery: new Delivery('alone', 'bench', i), attempt: 1 });
  const aloneEps = show('sink alone', performance.now() - start);
  await sink.stop?.();
  const templated = natsSink.create(natsSink.config.parse({ servers: [natsUrl], subject: 'alone.{kind}', stream: { name: 'ALONE', subjects: ['alone.>'] } }), ctx);
  await templated.start?.();
  start = performance.now();
  for (const [i, b] of batches.entries()) await templated.write(b, { delivery: new Delivery('alone', 'bench2', i), attempt: 1 });
  show('  template', performance.now() - start);
  await templated.stop?.();

  if (ROUNDS > 1) {
    const sorted = [...ratios].sort((x, y) => x - y);
    console.log(`${ratios.length} of ${ROUNDS} rounds: pipeline / baseline ${sorted.map((r) => r.toFixed(2)).join(' ')} (sorted), median ${median(ratios).toFixed(2)}×; median rates: baseline ${Math.round(baseEps).toLocaleString('en')}, pipeline ${Math.round(pipeEps).toLocaleString('en')} events/s`);
  }
  console.log(`pipeline / baseline: ${(ROUNDS > 1 ? median(ratios) : pipeEps / baseEps).toFixed(2)}×   sink alone / baseline: ${(aloneEps / baseEps).toFixed(2)}×   (peak RSS: sender / receiver; CPU: sender / receiver / nats-server)`);
  await nc.close();
  server.kill('SIGTERM');
  fs.rmSync(scratch, { recursive: true, force: true });
}
