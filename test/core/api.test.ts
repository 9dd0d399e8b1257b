import t from 'tap';
import { ApiServer } from '../../src/core/api/server.js';
import { manualSource, manualSources, logs } from '../helpers/manual-source.js';
import { failures } from '../helpers/memory-sink.js';
import { eventually, startPipeline, type TestContext } from '../helpers/pipeline.js';

async function serve(t: TestContext, toml: string) {
  const p = await startPipeline(t, toml, { extra: [manualSource] });
  const api = new ApiServer(() => p.runtime);
  const addr = await api.listen('127.0.0.1:0');
  t.teardown(() => api.close());
  return { ...p, base: `http://127.0.0.1:${addr.port}` };
}

const toml = `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\nretry = { initial_backoff_secs = 0.05 }\n`;

t.test('/health is 200 while every component runs, 503 naming the one that does not', async (t) => {
  const { base } = await serve(t, toml);
  let res = await fetch(`${base}/health`);
  t.equal(res.status, 200);
  t.same(await res.json(), { status: 'ok', failing: [] });
  failures.set('rec', Array(1000).fill('retryable'));
  await manualSources.get('m')!.emit(logs(0, 1));
  await eventually(async () => (await fetch(`${base}/health`)).status === 503, 5000, 'unhealthy');
  res = await fetch(`${base}/health`);
  const body = (await res.json()) as { failing: Array<{ id: string; state: string; error: string }> };
  t.equal(body.failing[0]?.id, 'rec');
  t.equal(body.failing[0]?.state, 'degraded');
  t.match(body.failing[0]?.error, /scripted retryable failure/);
  // The lag is read when scraped: it grows while nothing is delivered.
  const lag = async () => Number(/thermocline_checkpoint_lag_seconds\{component_id="rec"\} (\S+)/.exec(await (await fetch(`${base}/metrics`)).text())?.[1]);
  const first = await lag();
  await eventually(async () => (await lag()) > first, 5000, 'the lag to grow during the outage');
  failures.set('rec', []);
  await eventually(async () => (await fetch(`${base}/health`)).status === 200, 5000, 'healthy again');
});

t.test('/metrics exposes per-component counters and queue gauges in Prometheus text', async (t) => {
  const { base } = await serve(t, toml);
  await manualSources.get('m')!.emit(logs(0, 7));
  await eventually(async () => /thermocline_component_sent_events_total\{component_id="rec",component_kind="sink",component_type="memory_recorder"\} 7/.test(await (await fetch(`${base}/metrics`)).text()));
  const text = await (await fetch(`${base}/metrics`)).text();
  t.match(text, /thermocline_component_received_events_total\{component_id="m",component_kind="source",component_type="manual"\} 7/);
  t.match(text, /thermocline_component_received_events_total\{component_id="rec",component_kind="sink",component_type="memory_recorder"\} 7/, 'a sink receives what its queue got');
  t.match(text, /thermocline_buffer_events\{component_id="rec"\} 0/);
  t.match(text, /thermocline_checkpoint_lag_seconds\{component_id="rec"\} 0\n/, 'an empty queue has no lag');
  t.match(text, /thermocline_buffer_max_bytes\{component_id="rec"\} 268435456/);
  t.match(text, /thermocline_delivery_latency_seconds_count\{component_id="rec"\} 1/);
  t.match(text, /# TYPE thermocline_process_cpu_seconds_total counter/);
});

t.test('/components shows state, counters, queue depth and persisted state', async (t) => {
  const { base, runtime } = await serve(t, toml);
  runtime.store.setState('rec', 'watermark', '2026-01-01T00:00:00Z');
  const list = (await (await fetch(`${base}/components`)).json()) as Array<Record<string, unknown>>;
  const rec = list.find((c) => c.id === 'rec') as { queue: { max_bytes: number; when_full: string }; stored_state: unknown; state: string; kind: string };
  t.equal(rec.kind, 'sink');
  t.equal(rec.queue.when_full, 'block');
  t.same(rec.stored_state, { watermark: '2026-01-01T00:00:00Z' });
  t.equal(rec.state, 'running', 'the persisted state does not hide the component state');
});

t.test('/tap streams sampled events leaving a component as JSON lines', async (t) => {
  const { base } = await serve(t, toml);
  const res = await fetch(`${base}/tap/m?limit=3`);
  t.equal(res.headers.get('content-type'), 'application/x-ndjson');
  await manualSources.get('m')!.emit(logs(0, 5));
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { component: string; event: { message: string } });
  t.equal(lines.length, 3, 'stops at the limit');
  t.same(lines.map((l) => l.event.message), ['m 0', 'm 1', 'm 2']);
  t.equal((await fetch(`${base}/tap/nope`)).status, 404);
});

t.test('unknown paths and methods', async (t) => {
  const { base } = await serve(t, toml);
  t.equal((await fetch(`${base}/nope`)).status, 404);
  t.equal((await fetch(`${base}/health`, { method: 'POST' })).status, 405);
});

t.test('an address in use is a clear error', async (t) => {
  const { runtime } = await startPipeline(t, toml, { extra: [manualSource] });
  const a = new ApiServer(() => runtime);
  const addr = await a.listen('127.0.0.1:0');
  t.teardown(() => a.close());
  const b = new ApiServer(() => runtime);
  await t.rejects(b.listen(`127.0.0.1:${addr.port}`), { code: 'TC_API_LISTEN', message: /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/ });
});
