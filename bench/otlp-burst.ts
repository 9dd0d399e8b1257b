/**
 * A burst of large OTLP requests: 16 concurrent POSTs of ~19 MiB each (just under the default
 * max_body_bytes of 20 MiB) to the otlp_http source of a child agent, traces → ClickHouse (chdb,
 * in the agent's process) as in the default pipeline. Not run in CI.
 *
 *   npx tsx bench/otlp-burst.ts [--requests 16] [--rounds 1] [--blackhole] [--budget 20MiB]
 *
 * Three kinds of body, each against a fresh agent:
 * - `1M attributes`: one span with 1,000,000 string attributes (protobuf), like the request that
 *   once took the agent from 305 to 1,184 MB on its own and stalled /health for 4.25 s;
 * - `protobuf spans`: ordinary spans (12 attributes each) filling the body, under
 *   max_items_per_request;
 * - `JSON spans`: the same spans as OTLP/JSON, whose parse cannot be sliced.
 *
 * For each: what every request was answered (status, time), the agent's RSS before the burst and
 * its peak during it (VmHWM, the kernel's high-water mark), /health's slowest answer while the
 * burst was served (probed every 50 ms from a worker thread), the agent's own longest event-loop
 * delay over the burst (prom-client's, reset by the read before it), and the receiver's decode
 * counters. Requests are sent
 * once, without retries: the answers are the receiver's, as an exporter would first see them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { exited, freePorts, spawnAgent } from '../src/testing/agent-process.js';
import { spanBytes, stringAttr, tracesBody } from '../src/plugins/sources/otlp_http/testdata/bodies.js';

function option(name: string, fallback: number): number {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  const arg = process.argv[i] as string;
  return Number(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : process.argv[i + 1]);
}
const REQUESTS = option('requests', 16);
/** `--blackhole`: the spans go to a blackhole sink instead, to tell the receiver's share from ClickHouse's. */
const BLACKHOLE = process.argv.includes('--blackhole');
/** `--budget 20MiB`: the source's max_concurrent_decode_bytes (default: the source's default). */
const budgetArg = process.argv.indexOf('--budget');
const BUDGET = budgetArg < 0 ? undefined : process.argv[budgetArg + 1];
const ROUNDS = option('rounds', 1);
const TARGET_BYTES = 19 * 2 ** 20;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

// --- Bodies -------------------------------------------------------------------------------------

/** One span with 1,000,000 attributes `k0000000 = "vvvv"`, …: 19.1 MiB. */
function millionAttributes(): Buffer {
  const one = stringAttr(9, 'k0000000', 'vvvv');
  const attrs = Buffer.alloc(one.length * 1_000_000);
  // Field tag, length, key tag, key length, "k": the digits start at byte 5 (as manyAttributes).
  for (let i = 0; i < 1_000_000; i++) {
    one.copy(attrs, i * one.length);
    attrs.write(String(i).padStart(7, '0'), i * one.length + 5, 'latin1');
  }
  return tracesBody([spanBytes(0, attrs)]);
}

/** A span as an instrumented HTTP server exports it, with 12 attributes. */
function ordinarySpan(i: number): Buffer {
  const attrs = [
    stringAttr(9, 'http.request.method', 'GET'),
    stringAttr(9, 'url.path', `/api/items/${i % 1000}`),
    stringAttr(9, 'url.scheme', 'https'),
    stringAttr(9, 'server.address', 'shop.example.com'),
    stringAttr(9, 'http.route', '/api/items/:id'),
    stringAttr(9, 'user_agent.original', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36'),
    stringAttr(9, 'network.protocol.version', '1.1'),
    stringAttr(9, 'client.address', `10.0.${(i >> 8) & 255}.${i & 255}`),
    stringAttr(9, 'http.response.status_code', '200'),
    stringAttr(9, 'service.instance.id', 'web-17'),
    stringAttr(9, 'thread.name', 'main'),
    stringAttr(9, 'code.function', 'ItemsController.show'),
  ];
  return spanBytes(i, Buffer.concat(attrs));
}

function protobufSpans(): { body: Buffer; spans: number } {
  const one = ordinarySpan(0).length + 4;
  const spans = Math.floor(TARGET_BYTES / one);
  return { body: tracesBody(Array.from({ length: spans }, (_, i) => ordinarySpan(i))), spans };
}

function jsonSpans(): { body: Buffer; spans: number } {
  const span = (i: number) => ({
    traceId: (i + 1).toString(16).padStart(32, '0'),
    spanId: (i + 1).toString(16).padStart(16, '0'),
    name: 'GET /api/items/:id',
    kind: 2,
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000001000000',
    attributes: [
      ['http.request.method', 'GET'],
      ['url.path', `/api/items/${i % 1000}`],
      ['url.scheme', 'https'],
      ['server.address', 'shop.example.com'],
      ['http.route', '/api/items/:id'],
      ['user_agent.original', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36'],
      ['network.protocol.version', '1.1'],
      ['client.address', `10.0.${(i >> 8) & 255}.${i & 255}`],
      ['http.response.status_code', '200'],
      ['service.instance.id', 'web-17'],
      ['thread.name', 'main'],
      ['code.function', 'ItemsController.show'],
    ].map(([key, value]) => ({ key, value: { stringValue: value } })),
  });
  const one = JSON.stringify(span(0)).length + 1;
  const spans = Math.floor((TARGET_BYTES - 200) / one);
  const text = JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'burst' } }] },
        scopeSpans: [{ scope: { name: 'burst' }, spans: Array.from({ length: spans }, (_, i) => span(i)) }],
      },
    ],
  });
  return { body: Buffer.from(text), spans };
}

// --- The agent ----------------------------------------------------------------------------------

interface Agent {
  pid: number;
  otlp: string;
  api: string;
  stop(): Promise<void>;
}

async function startAgent(base: string): Promise<Agent> {
  const [apiPort, otlpPort] = (await freePorts(2)) as [number, number];
  const dataDir = path.join(base, `data-${otlpPort}`);
  fs.mkdirSync(dataDir);
  const config = path.join(base, `agent-${otlpPort}.toml`);
  fs.writeFileSync(
    config,
    `data_dir = ${JSON.stringify(dataDir)}

[api]
address = "127.0.0.1:${apiPort}"

[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:${otlpPort}"
${BUDGET ? `max_concurrent_decode_bytes = ${JSON.stringify(BUDGET)}` : ''}

${
  BLACKHOLE
    ? `[sinks.discard]
type = "blackhole"
inputs = ["otlp"]`
    : `[sinks.ch]
type = "clickhouse"
inputs = ["otlp"]
url = "chdb://clickhouse"`
}
`,
  );
  const child = spawnAgent(config);
  const deadline = Date.now() + 120_000;
  while (!/"msg":"API listening"/.test(child.output())) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline)
      throw new Error(`the agent did not start:\n${child.output().slice(-3000)}`);
    await sleep(100);
  }
  return {
    pid: child.pid as number,
    otlp: `http://127.0.0.1:${otlpPort}/v1/traces`,
    api: `http://127.0.0.1:${apiPort}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

function memory(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

async function metric(api: string, name: string): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Asks `url` every 50 ms from a worker thread: the bench's own event loop, busy sending 300 MiB,
 * must not count as the agent's slowness.
 */
function healthProber(url: string): { stop(): Promise<{ health: number[]; healthFailures: string[] }> } {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const health = [], healthFailures = [];
     let probing = true;
     parentPort.on('message', () => (probing = false));
     (async () => {
       while (probing) {
         const t0 = performance.now();
         try {
           const res = await fetch(workerData, { signal: AbortSignal.timeout(30000) });
           await res.arrayBuffer();
           health.push(performance.now() - t0);
         } catch (err) {
           healthFailures.push(err.message);
         }
         await new Promise((r) => setTimeout(r, 50));
       }
       parentPort.postMessage({ health, healthFailures });
     })();`,
    { eval: true, workerData: url },
  );
  return {
    stop: async () => {
      const result = new Promise<{ health: number[]; healthFailures: string[] }>((resolve) => worker.once('message', resolve));
      worker.postMessage('stop');
      const r = await result;
      await worker.terminate();
      return r;
    },
  };
}

// --- A burst ------------------------------------------------------------------------------------

interface Answer {
  status: string;
  ms: number;
}

async function burst(kind: string, body: Buffer, contentType: string, items: number, base: string): Promise<void> {
  const agent = await startAgent(base);
  try {
    // Let the engine settle (migrations, first merges) so that "before" is the idle agent.
    await sleep(5000);
    await fetch(`${agent.api}/health`);
    const before = memory(agent.pid);
    // The high-water mark so far belongs to the start: reset it (Linux ≥ 4.0) to see the burst's own.
    fs.writeFileSync(`/proc/${agent.pid}/clear_refs`, '5');
    await metric(agent.api, 'thermocline_nodejs_eventloop_lag_max_seconds'); // resets the agent's own maximum
    const prober = healthProber(`${agent.api}/health`);
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: REQUESTS }, async (): Promise<Answer> => {
        const t0 = performance.now();
        try {
          const res = await fetch(agent.otlp, { method: 'POST', headers: { 'content-type': contentType }, body, signal: AbortSignal.timeout(120_000) });
          await res.arrayBuffer();
          return { status: String(res.status), ms: performance.now() - t0 };
        } catch (err) {
          return { status: (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name, ms: performance.now() - t0 };
        }
      }),
    );
    const burstMs = performance.now() - started;
    await sleep(1000);
    const { health, healthFailures } = await prober.stop();
    const loopMax = await metric(agent.api, 'thermocline_nodejs_eventloop_lag_max_seconds');
    const after = memory(agent.pid);
    const counts = new Map<string, number>();
    for (const a of answers) counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
    const times = (status: string) => answers.filter((a) => a.status === status).map((a) => a.ms / 1000);
    const range = (xs: number[]) => (xs.length ? `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)} s` : '');
    console.log(`\n${kind}: ${REQUESTS} × ${mib(body.length)} (${items.toLocaleString('en')} item${items === 1 ? '' : 's'} each), ${contentType}`);
    console.log(`  answers: ${[...counts].map(([s, n]) => `${n} × ${s} (${range(times(s))})`).join(', ')}; all answered in ${(burstMs / 1000).toFixed(1)} s`);
    console.log(
      `  agent RSS: ${mib(before.rss)} before, peak ${mib(after.hwm)} during the burst (+${mib(after.hwm - before.rss)}), ${mib(after.rss)} one second after`,
    );
    console.log(
      `  /health: ${health.length} answers, slowest ${Math.max(...health).toFixed(0)} ms, median ${health.sort((a, b) => a - b)[Math.floor(health.length / 2)]?.toFixed(0)} ms${healthFailures.length ? `, ${healthFailures.length} FAILED (${healthFailures[0]})` : ''}; the agent's event loop was blocked at most ${(loopMax * 1000).toFixed(0)} ms`,
    );
    const waits = await metric(agent.api, 'thermocline_otlp_http_decode_waits_total');
    const refused = await metric(agent.api, 'thermocline_otlp_http_decode_refused_total');
    const dropped = await metric(agent.api, 'thermocline_otlp_http_attributes_dropped_total');
    console.log(`  decode budget: ${waits} requests waited, ${refused} refused (503); attributes dropped ${dropped.toLocaleString('en')}`);
  } finally {
    await agent.stop();
  }
}

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-burst-'));
try {
  console.log(
    `otlp burst: ${REQUESTS} concurrent requests per burst → ${BLACKHOLE ? 'blackhole' : 'ClickHouse (chdb)'}, max_concurrent_decode_bytes ${BUDGET ?? 'default'}, ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg()[0]?.toFixed(1)}`,
  );
  const protobuf = protobufSpans();
  const json = jsonSpans();
  const bodies: Array<[string, Buffer, string, number]> = [
    ['1M attributes', millionAttributes(), 'application/x-protobuf', 1],
    ['protobuf spans', protobuf.body, 'application/x-protobuf', protobuf.spans],
    ['JSON spans', json.body, 'application/json', json.spans],
  ];
  for (let round = 0; round < ROUNDS; round++) for (const [kind, body, type, items] of bodies) await burst(kind, body, type, items, base);
} finally {
  fs.rmSync(base, { recursive: true, force: true });
}
