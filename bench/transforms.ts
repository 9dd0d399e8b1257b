/**
 * Throughput of `canonicalize_labels -> route` beside a pass-through transform, in
 * three settings:
 *
 *   1. process():  the two transforms' `process` called directly on 1,000-event batches, in a
 *      tight loop. This is the headline for the "≥ 2,000,000 events/s" goal. A pass-through
 *      `process` costs next to nothing here, so its rate is printed but a ratio to it says little.
 *   2. router:     the same batches through the runtime's Router (core/runtime/router.ts) wired
 *      source -> labels -> split -> sinks, beside source -> pass -> sinks.
 *   3. pipeline:   a real Runtime (generator source, rate 0 -> transforms -> blackhole sinks, disk
 *      queue): every event is routed, encoded, committed to SQLite, read back and delivered. The
 *      pass-through feeds one sink; the route feeds two sinks with disjoint outputs, so both
 *      deliver every event once. This is the headline for the "≥ 0.5× a pass-through transform"
 *      goal: it is what the transforms cost in the agent.
 *
 * Batches mix metrics (50%), logs (30%) and spans (20%) whose labels arrive unsorted, as OTLP
 * attributes and file-source fields do; metric series repeat (2,500 series), so the cardinality
 * guard sees its steady state. Rates are events per CPU-second of this process (median of
 * ROUNDS): on a shared, loaded machine wall time mostly measures waiting for a core.
 *
 *   npx tsx bench/transforms.ts [events_per_round=200000]
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import pino from 'pino';
import { z } from 'zod';
import type { TelemetryEvent } from '../src/core/events.js';
import { defineTransform } from '../src/core/plugin/define.js';
import type { ComponentContext, TransformInstance, TransformPlugin } from '../src/core/plugin/types.js';
import { Router } from '../src/core/runtime/router.js';
import { Runtime } from '../src/core/runtime/runtime.js';
import { MetricsRegistry } from '../src/core/telemetry/metrics.js';
import { Topology, type GraphNode } from '../src/core/topology/graph.js';
import canonicalizeLabels from '../src/plugins/transforms/canonicalize_labels/index.js';
import route from '../src/plugins/transforms/route/index.js';
import { loadTestConfig, tempDir } from '../test/helpers/pipeline.js';
import { median } from './process-figures.js';

const EVENTS = Number(process.argv[2] ?? 200_000);
const BATCH = 1000;
const ROUNDS = 7;
const T0 = 1_700_000_000_000_000;
const LEVELS = ['info', 'info', 'info', 'debug', 'warn', 'error'];

/** A fresh batch: transforms mutate their input, so every timed run gets new objects. */
function makeBatch(seed: number): TelemetryEvent[] {
  const out: TelemetryEvent[] = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) {
    const n = seed * BATCH + i;
    const r = n % 10;
    if (r < 5) {
      out[i] = {
        kind: 'metric',
        type: 'counter',
        name: `http_server_requests_${n % 5}`,
        labels: { route: `/api/v1/item/${n % 100}`, method: n % 2 ? 'GET' : 'POST', instance: `10.0.0.${n % 5}:9100`, code: '200', job: 'api' },
        time_us: T0 + n,
        value: n,
      };
    } else if (r < 8) {
      out[i] = {
        kind: 'log',
        time_us: T0 + n,
        service: 'checkout',
        host: 'web-1',
        level: LEVELS[n % LEVELS.length] as string,
        trace_id: '',
        span_id: '',
        message: `GET /api/cart 200 ${n % 97}ms`,
        labels: { pod: `checkout-${n % 7}`, app: 'checkout', namespace: 'shop', container: 'app' },
      };
    } else {
      out[i] = {
        kind: 'span',
        trace_id: '0af7651916cd43dd8448eb211c80319c',
        span_id: 'b7ad6b7169203331',
        parent_span_id: '',
        service: 'checkout',
        name: 'GET /api/cart',
        start_us: T0 + n,
        end_us: T0 + n + 1500,
        duration_ns: 1_500_000,
        status_code: 'OK',
        status_message: '',
        attr: { 'http.route': '/api/cart', 'http.method': 'GET', 'net.peer.name': 'cart-db', 'http.status_code': '200' },
        events: [],
      };
    }
  }
  return out;
}

const batchesPerRound = Math.ceil(EVENTS / BATCH);

function ctxFor(id: string, type: string): ComponentContext {
  const registry = new MetricsRegistry({ processMetrics: false });
  return {
    id,
    kind: 'transform',
    type,
    logger: pino({ level: 'silent' }),
    metrics: registry.forComponent(id, 'transform', type),
    dataDir: '/tmp',
    state: { get: () => undefined, set: () => {}, delete: () => {} },
    signal: new AbortController().signal,
    provide: () => undefined,
    use: () => undefined,
    publish: () => {},
    lookup: () => undefined,
  };
}

function create(plugin: TransformPlugin, options: Record<string, unknown>, id: string): TransformInstance {
  const config = plugin.config.parse(options);
  return plugin.create(config as never, ctxFor(id, plugin.type));
}

const passThrough = defineTransform({
  type: 'bench_pass',
  summary: 'Benchmark baseline: returns its input.',
  config: z.strictObject({}),
  create: () => ({ process: (events) => events }),
});

/**
 * Median over ROUNDS of events per CPU-second spent inside `run`. Each batch is built just before
 * it is processed (untimed) and dropped after, as a source's batch is: holding a whole round of
 * events alive would measure old-generation GC more than the transforms.
 */
function measure(run: (batch: TelemetryEvent[]) => number): number {
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    let us = 0;
    for (let b = 0; b < batchesPerRound; b++) {
      const batch = makeBatch(b);
      const c0 = process.cpuUsage();
      n += run(batch);
      const c = process.cpuUsage(c0);
      us += c.user + c.system;
    }
    rates.push(n / (us / 1e6));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(ROUNDS / 2)] as number;
}

const fmt = (r: number) => `${Math.round(r).toLocaleString('en-US').padStart(12)} events/s`;
const ROUTES = { metrics: { kind: 'metric' }, errors: { kind: 'log', level: ['error', 'fatal'] } };
const CONFIGS: Array<{ name: string; options: Record<string, unknown> }> = [
  { name: 'defaults (no options)', options: {} },
  {
    name: 'typical (add, rename, drop)',
    options: { add: { cluster: 'eu-1' }, rename: { pod: 'k8s_pod' }, drop: ['container', { regex: '^tmp_' }], max_label_value_bytes: 256 },
  },
];

/** A fixed integer loop, to tell how loaded the machine is: a quiet modern x86 core needs about 1 ns per step. */
function calibrate(): number {
  const c0 = process.cpuUsage();
  let h = 1;
  for (let i = 0; i < 50_000_000; i++) h = Math.imul(h ^ i, 0x01000193);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / 50_000_000 + (h === 0.5 ? 1 : 0);
}

console.log(`bench/transforms: ${batchesPerRound} batches of ${BATCH} events per round, median of ${ROUNDS} rounds, events per CPU-second`);
console.log(`calibration: ${calibrate().toFixed(2)} ns per reference step (about 1 on a quiet core; higher means a loaded machine)\n`);

// 1. process() in a tight loop.
console.log('1. process() directly');
const pass = create(passThrough as unknown as TransformPlugin, {}, 'pass');
const passRate = measure((b) => (pass.process(b) as TelemetryEvent[]).length);
console.log(`   pass-through                              ${fmt(passRate)}`);
const direct: Record<string, number> = {};
for (const { name, options } of CONFIGS) {
  const canon = create(canonicalizeLabels as unknown as TransformPlugin, options, 'labels');
  const split = create(route as unknown as TransformPlugin, { route: ROUTES }, 'split');
  const canonOnly = measure((b) => (canon.process(b) as TelemetryEvent[]).length);
  const routeOnly = measure((b) => {
    const out = split.process(b) as Record<string, TelemetryEvent[]>;
    let n = 0;
    for (const k in out) n += (out[k] as TelemetryEvent[]).length;
    return n;
  });
  const both = measure((b) => {
    const out = split.process(canon.process(b) as TelemetryEvent[]) as Record<string, TelemetryEvent[]>;
    let n = 0;
    for (const k in out) n += (out[k] as TelemetryEvent[]).length;
    return n;
  });
  direct[name] = both;
  console.log(`   canonicalize_labels, ${name.padEnd(28)}${fmt(canonOnly)}`);
  if (name === CONFIGS[0]?.name) console.log(`   route (2 routes)                          ${fmt(routeOnly)}`);
  console.log(`   canonicalize_labels -> route, ${name.padEnd(19)}${fmt(both)}   (goal ≥ 2,000,000)`);
}

// 2. Through the runtime's Router.
console.log('\n2. through the Router (source -> transforms -> two sinks)');
function node(id: string, kind: GraphNode['kind'], inputs: string[], namedOutputs: string[] = []): GraphNode {
  return {
    id,
    kind,
    inputs: inputs.map((i) => (i.includes('.') ? { component: i.split('.')[0] as string, output: i.split('.')[1] as string } : { component: i, output: '' })),
    namedOutputs,
    dependsOn: [],
  };
}
const routerRate = (topology: Topology, transforms: Map<string, TransformInstance>) => {
  const router = new Router(topology, transforms, (_id, err) => {
    throw err;
  });
  return measure((b) => {
    let n = 0;
    for (const parts of router.route('src', b).sinks.values()) for (const p of parts) n += p.length;
    return n;
  });
};
const passTopology = new Topology([node('src', 'source', []), node('pass', 'transform', ['src']), node('pg', 'sink', ['pass']), node('ch', 'sink', ['pass'])]);
const routerPass = routerRate(passTopology, new Map([['pass', pass]]));
console.log(`   pass-through                              ${fmt(routerPass)}`);
const routedTopology = new Topology([
  node('src', 'source', []),
  node('labels', 'transform', ['src']),
  node('split', 'transform', ['labels'], ['metrics', 'errors', '_unmatched']),
  node('pg', 'sink', ['split.metrics']),
  node('ch', 'sink', ['split._unmatched', 'split.errors']),
]);
const routerBoth = routerRate(
  routedTopology,
  new Map([
    ['labels', create(canonicalizeLabels as unknown as TransformPlugin, {}, 'labels')],
    ['split', create(route as unknown as TransformPlugin, { route: ROUTES }, 'split')],
  ]),
);
console.log(`   canonicalize_labels -> route (defaults)   ${fmt(routerBoth)}   ratio ${(routerBoth / routerPass).toFixed(3)}`);

// 3. A real runtime: generator -> transforms -> blackhole, disk queue.
console.log('\n3. through a running agent (generator rate=0 -> transforms -> blackhole sinks, SQLite queue; from 20% of the events on)');
const teardowns: Array<() => unknown> = [];
const t = { teardown: (fn: () => unknown) => teardowns.push(fn) };
/** `sinks`: each sink's inputs; every event must reach exactly one sink, so both setups deliver as much. */
async function pipelineRate(transforms: string, sinks: Record<string, string>, count: number): Promise<number> {
  const dataDir = tempDir(t, 'thermocline-bench-');
  const config = await loadTestConfig(
    `
[sources.gen]
type = "generator"
rate = 0
count = ${count}
batch_size = ${BATCH}
kinds = ["metric", "log", "span"]

${transforms}
${Object.entries(sinks)
  .map(([id, inputs]) => `\n[sinks.${id}]\ntype = "blackhole"\ninputs = [${inputs}]\nprint_interval_secs = 0\n`)
  .join('')}
`,
    { dataDir, extra: [passThrough] },
  );
  const runtime = await Runtime.start(config, { logger: pino({ level: 'silent' }) });
  const sent = () => runtime.metrics.componentStats().find((s) => s.id === 'gen')?.sentEvents ?? 0;
  const tick = () => new Promise((r) => setTimeout(r, 2));
  // Skip start-up and warm-up (JIT, SQLite pages): measure from 20% of the events on.
  while (sent() < count * 0.2) await tick();
  const n0 = sent();
  const c0 = process.cpuUsage();
  while (sent() < count) await tick();
  const c = process.cpuUsage(c0);
  const n = sent() - n0;
  await runtime.stop();
  return n / ((c.user + c.system) / 1e6);
}
const pipelineCount = Math.max(EVENTS, 200_000);
const passConfig = '[transforms.pass]\ntype = "bench_pass"\ninputs = ["gen"]';
const bothConfig = `[transforms.labels]
type = "canonicalize_labels"
inputs = ["gen"]

[transforms.split]
type = "route"
inputs = ["labels"]
route.metrics = { kind = "metric" }
route.errors = { kind = "log", level = ["error", "fatal"] }`;
// Interleaved, so that both see the same background load; medians of 3.
const passRuns: number[] = [];
const bothRuns: number[] = [];
for (let r = 0; r < 3; r++) {
  passRuns.push(await pipelineRate(passConfig, { ch: '"pass"' }, pipelineCount));
  bothRuns.push(await pipelineRate(bothConfig, { pg: '"split.metrics"', ch: '"split._unmatched", "split.errors"' }, pipelineCount));
}
const pipePass = median(passRuns);
const pipeBoth = median(bothRuns);
console.log(`   pass-through                              ${fmt(pipePass)}`);
console.log(`   canonicalize_labels -> route (defaults)   ${fmt(pipeBoth)}   ratio ${(pipeBoth / pipePass).toFixed(3)}   (goal ≥ 0.5)`);
for (const fn of teardowns.reverse()) await fn();

// 4. Memory under a label explosion, with the default bounds.
console.log('\n4. memory of the cardinality guard under a label explosion (defaults: 10,000 series per metric, 1,000,000 tracked)');
v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as () => void;
{
  const registry = new MetricsRegistry({ processMetrics: false });
  const ctx = { ...ctxFor('labels', 'canonicalize_labels'), metrics: registry.forComponent('labels', 'transform', 'canonicalize_labels') };
  const canon = canonicalizeLabels.create(canonicalizeLabels.config.parse({ on_limit: 'drop' }), ctx);
  gc();
  const before = process.memoryUsage().heapUsed;
  const total = 3_000_000;
  for (let b = 0; b < total / BATCH; b++) {
    const batch: TelemetryEvent[] = new Array(BATCH);
    for (let i = 0; i < BATCH; i++) {
      const n = b * BATCH + i;
      // 200 metric names, every event a new series (an exploding user_id label).
      batch[i] = {
        kind: 'metric',
        type: 'counter',
        name: `api_requests_${n % 200}`,
        labels: { user_id: `u${n}`, method: 'GET', code: '200' },
        time_us: T0 + n,
        value: 1,
      };
    }
    canon.process(batch);
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  canon.process([]); // keep the transform (and its tracker) alive until after the measurement
  const text = await registry.text();
  const tracked = /tracked_series\{component_id="labels"\} (\d+)/.exec(text)?.[1];
  console.log(
    `   ${total.toLocaleString('en-US')} distinct series -> ${Number(tracked).toLocaleString('en-US')} tracked; heap grew ${(grown / 1e6).toFixed(1)} MB (${(grown / Number(tracked)).toFixed(1)} bytes per tracked series)`,
  );
}

console.log('\nheadlines:');
console.log(`   canonicalize_labels -> route, process() in a tight loop, defaults: ${fmt(direct[CONFIGS[0]?.name as string] ?? 0)}`);
console.log(`   through the agent, ratio to a pass-through transform:              ${(pipeBoth / pipePass).toFixed(3)}`);
