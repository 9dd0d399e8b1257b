/**
 * OTLP/HTTP receiver throughput: protobuf /v1/traces → otlp_http → disk queue → blackhole, in
 * requests of 512 spans made by the real OpenTelemetry SDK and serializer, against the baseline
 * of the same node:http server reading each body and discarding it unparsed. The client runs in
 * a worker thread (the same one for both) with 8 keep-alive connections.
 *
 *   npx tsx bench/otlp-http.ts [seconds per run, default 5] [rounds, default 3]
 *
 * Baseline and receiver runs alternate for the given rounds so that background load hits both
 * alike; the median and the best round of each are printed.
 *
 * A third figure is the engine's ceiling for the same spans: a source that emits the already
 * decoded 512-span batch in a loop, through the same disk queue into the blackhole (no HTTP, no
 * decoding). A fourth isolates decoding: our wire decoder against the OpenTelemetry project's
 * generated protobufjs code (@opentelemetry/otlp-transformer) decoding the same body into
 * message objects, without any mapping to events (see the README, "Protobuf decoding").
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import pino from 'pino';
import { z } from 'zod';
import { defineSource } from '../src/core/plugin/define.js';
import { parseConfig } from '../src/core/config/load.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import { builtinRegistry } from '../src/plugins/registry.js';
import { decodeTracesProto } from '../src/plugins/sources/otlp_http/proto/traces.js';
import { tracesRequest } from './otlp-spans.js';
import { median } from './process-figures.js';

const SPANS_PER_REQUEST = 512;
const CONNECTIONS = 8;
const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);

/** One request body: 512 spans as an instrumented HTTP service exports them. */
const payload = (): Buffer => tracesRequest(SPANS_PER_REQUEST);

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { port, body, connections, ms } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const counts = {};
const until = Date.now() + ms;
function one() {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/traces', method: 'POST', agent,
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => { counts[res.statusCode] = (counts[res.statusCode] || 0) + 1; resolve(); });
    });
    req.on('error', (e) => { counts[e.code] = (counts[e.code] || 0) + 1; resolve(); });
    req.end(body);
  });
}
async function loop() { while (Date.now() < until) await one(); }
Promise.all(Array.from({ length: connections }, loop)).then(() => { agent.destroy(); parentPort.postMessage(counts); });
`;

function load(port: number, body: Buffer, ms: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: { port, body, connections: CONNECTIONS, ms } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

async function baseline(body: Buffer): Promise<number> {
  const server = http.createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' }).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const started = performance.now();
  const counts = await load(port, body, seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  return ((counts['200'] ?? 0) * SPANS_PER_REQUEST) / elapsed;
}

/** Emits one pre-decoded batch over and over, as fast as the queue takes it. */
const replay = (events: ReturnType<typeof decodeTracesProto>['events']) =>
  defineSource({
    type: 'bench_replay',
    summary: 'Bench only: re-emits one batch.',
    config: z.strictObject({}),
    create(_config, ctx) {
      let running: Promise<void> | undefined;
      let stopped = false;
      return {
        async start() {
          running = (async () => {
            while (!stopped) {
              await ctx.emit(events).catch(() => undefined);
              await new Promise((r) => setImmediate(r));
            }
          })();
        },
        async stop() {
          stopped = true;
          await running;
        },
      };
    },
  });

async function ceiling(body: Buffer): Promise<number> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-otlp-'));
  const registry = builtinRegistry();
  registry.register(replay(decodeTracesProto(body).events));
  const toml = `data_dir = ${JSON.stringify(dataDir)}\n[api]\nenabled = false\n[sources.replay]\ntype = "bench_replay"\n[sinks.bh]\ntype = "blackhole"\ninputs = ["replay"]\nprint_interval_secs = 0\n`;
  const runtime = await Runtime.start(await parseConfig(toml, { registry, env: {} }), { logger: pino({ level: 'warn' }) });
  const delivered = () => runtime.metrics.componentStats().find((s) => s.id === 'bh')?.sentEvents ?? 0;
  const started = performance.now();
  const from = delivered();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rate = (delivered() - from) / ((performance.now() - started) / 1000);
  await runtime.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return rate;
}

async function receiver(body: Buffer): Promise<{ accepted: number; delivered: number; counts: Record<string, number> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-otlp-'));
  const port = 40000 + Math.floor(Math.random() * 20000);
  const toml = `data_dir = ${JSON.stringify(dataDir)}
[api]
enabled = false
[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:${port}"
[sinks.bh]
type = "blackhole"
inputs = ["otlp"]
print_interval_secs = 0
`;
  const config = await parseConfig(toml, { registry: builtinRegistry(), env: {} });
  const runtime = await Runtime.start(config, { logger: pino({ level: 'warn' }) });
  const deliveredNow = () => runtime.metrics.componentStats().find((s) => s.id === 'bh')?.sentEvents ?? 0;
  const started = performance.now();
  const counts = await load(port, body, seconds * 1000);
  const acceptedAt = performance.now();
  const accepted = (counts['200'] ?? 0) * SPANS_PER_REQUEST;
  while (deliveredNow() < accepted) await new Promise((r) => setTimeout(r, 5));
  const drainedAt = performance.now();
  await runtime.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return { accepted: accepted / ((acceptedAt - started) / 1000), delivered: accepted / ((drainedAt - started) / 1000), counts };
}

function decodeRates(body: Buffer): { ours: number; generated: number } {
  const require = createRequire(import.meta.url);
  const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
    opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: { decode(b: Uint8Array): unknown } } } } } };
  };
  const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
  // Alternate short slices of each and keep the best, so background load hits both alike.
  const slice = (fn: () => unknown) => {
    let n = 0;
    const started = performance.now();
    while (performance.now() - started < 250) {
      fn();
      n++;
    }
    return (n * SPANS_PER_REQUEST) / ((performance.now() - started) / 1000);
  };
  const fns = { ours: () => decodeTracesProto(body), generated: () => Request.decode(body) };
  const best = { ours: 0, generated: 0 };
  for (let i = 0; i < 16; i++) for (const key of ['ours', 'generated'] as const) best[key] = Math.max(best[key], slice(fns[key]));
  return best;
}

const body = payload();
const k = (n: number) => `${Math.round(n).toLocaleString('en-US')} spans/s`;
const best = (xs: number[]) => Math.max(...xs);
console.log(`request: ${SPANS_PER_REQUEST} spans, ${body.length} bytes of protobuf; ${CONNECTIONS} connections; ${rounds} rounds of ${seconds} s`);
const bases: number[] = [];
const accepted: number[] = [];
const delivered: number[] = [];
for (let i = 0; i < rounds; i++) {
  bases.push(await baseline(body));
  const r = await receiver(body);
  accepted.push(r.accepted);
  delivered.push(r.delivered);
  const refused = Object.entries(r.counts).filter(([status]) => status !== '200');
  console.log(
    `  round ${i + 1}: baseline ${k(bases[i] as number)}, receiver delivered ${k(r.delivered)}${refused.length ? `, other answers ${JSON.stringify(Object.fromEntries(refused))}` : ''}`,
  );
}
console.log(`baseline  node:http reading and discarding the bodies: median ${k(median(bases))}, best ${k(best(bases))}`);
console.log(`otlp_http → disk queue, answered 200 (durable):         median ${k(median(accepted))}, best ${k(best(accepted))}`);
console.log(`otlp_http → disk queue → blackhole, delivered:          median ${k(median(delivered))}, best ${k(best(delivered))}`);
console.log(`ratio delivered / baseline: median ${(median(delivered) / median(bases)).toFixed(2)}, best ${(best(delivered) / best(bases)).toFixed(2)}`);
console.log(`engine ceiling: the decoded batch re-emitted → disk queue → blackhole: ${k(await ceiling(body))}`);
const dec = decodeRates(body);
console.log(
  `decode only: our wire decoder → span events ${k(dec.ours)}; generated protobufjs code → message objects ${k(dec.generated)}; ratio ${(dec.ours / dec.generated).toFixed(2)}`,
);
