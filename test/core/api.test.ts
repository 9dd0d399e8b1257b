import net from 'node:net';
import t from 'tap';
import { hostGuard } from '../../src/core/api/host.js';
import { ApiServer, type ApiOptions } from '../../src/core/api/server.js';
import { checkSlowClients, getStatus, metricValue } from '../../src/testing/index.js';
import { manualSource, manualSources, logs } from '../helpers/manual-source.js';
import { failures } from '../helpers/memory-sink.js';
import { eventually, startPipeline, type TestContext } from '../helpers/pipeline.js';

async function serve(t: TestContext, toml: string, options: Partial<ApiOptions> = {}) {
  const p = await startPipeline(t, toml, { extra: [manualSource] });
  const api = new ApiServer(() => p.runtime, options);
  const addr = await api.listen('127.0.0.1:0');
  t.teardown(() => api.close());
  return { ...p, port: addr.port, base: `http://127.0.0.1:${addr.port}` };
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

t.test('on loopback the API answers only loopback Host names, so web pages cannot reach it by DNS rebinding', async (t) => {
  const { base, port } = await serve(t, toml, { allowed_hosts: ['Agent.Internal'] });
  for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, 'agent.internal:8686']) {
    t.equal(await getStatus(`${base}/components`, { host }), 200, host);
  }
  for (const host of [`attacker.example:${port}`, 'attacker.example', 'localhost.attacker.example', '127.0.0.1.nip.io', 'localhost:x']) {
    t.equal(await getStatus(`${base}/health`, { host }), 421, host);
  }
  const res = await new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => (text += String(d))).on('end', () => resolve(text));
    socket.end('GET /tap/m HTTP/1.1\r\nHost: rebound.example\r\nConnection: close\r\n\r\n');
  });
  t.match(res, /^HTTP\/1\.1 421 /);
  t.match(res, /TC_API_HOST_REFUSED: .*"rebound\.example".*\[api\] allowed_hosts/);
});

t.test('on other addresses any Host is answered unless allowed_hosts narrows it', async (t) => {
  t.ok(hostGuard('0.0.0.0', [])('anything.example:8686'));
  t.ok(hostGuard('10.0.0.5', [])('10.0.0.5:8686'));
  const narrowed = hostGuard('0.0.0.0', ['agent.internal']);
  t.ok(narrowed('agent.internal'));
  t.ok(narrowed('127.0.0.1:8686'), 'the CLI on the same machine still gets in');
  t.notOk(narrowed('other.example'));
  t.notOk(hostGuard('::1', [])('example.com'));
  t.notOk(hostGuard('127.0.0.2', [])('example.com'));
});

t.test('with [api] auth, /components and /tap need the bearer token; /health and /metrics do not', async (t) => {
  const { base } = await serve(t, toml, { auth: { bearer_token: 'api-secret-token' } });
  const denied = await fetch(`${base}/components`);
  t.equal(denied.status, 401);
  t.equal(denied.headers.get('www-authenticate'), 'Bearer realm="thermocline"');
  t.match(await denied.text(), /TC_API_UNAUTHORIZED/);
  t.equal((await fetch(`${base}/tap/m?limit=1`)).status, 401);
  t.equal((await fetch(`${base}/components`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  t.equal((await fetch(`${base}/components`, { headers: { authorization: 'Bearer api-secret-token' } })).status, 200);
  t.equal((await fetch(`${base}/health`)).status, 200);
  t.equal((await fetch(`${base}/metrics`)).status, 200);
});

t.test('a malformed percent-escape in the path is 400, not 500', async (t) => {
  const { base } = await serve(t, toml);
  for (const path of ['/tap/%E0%A4%A', '/tap/%zz', '/%', '/components%']) {
    const res = await fetch(`${base}${path}`);
    t.equal(res.status, 400, path);
    t.match(await res.text(), /TC_API_BAD_PATH/);
  }
  t.equal((await fetch(`${base}/tap/%6D?limit=1`, { signal: AbortSignal.timeout(100) }).then((r) => r.status)), 200, 'a good escape still names the component');
});

t.test('a /tap reader that stops reading loses events, counted and reported, instead of buffering them', async (t) => {
  const { port, runtime } = await serve(t, toml, { tap: { max_buffer_bytes: 64 * 1024 } });
  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  let raw = '';
  await new Promise<void>((resolve) => {
    socket.once('data', (d) => {
      raw += String(d);
      socket.pause(); // the reader stops reading once the stream is open
      resolve();
    });
    socket.write('GET /tap/m?limit=1000000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  });
  const total = 2000;
  const big = 'x'.repeat(10_000);
  for (let i = 0; i < total; i += 100) await manualSources.get('m')!.emit(logs(i, 100, big));
  const dropped = async () => metricValue(await runtime.metrics.text(), 'thermocline_api_tap_dropped_events_total', 'component_id="m"');
  await eventually(async () => (await dropped()) > 0, 10_000, 'dropped events to be counted');
  socket.on('data', (d) => (raw += String(d)));
  socket.resume();
  const reported = () => [...raw.matchAll(/"dropped":(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const delivered = () => raw.split('"event":{').length - 1;
  await eventually(() => reported() > 0 && delivered() + reported() === total, 20_000, 'every event delivered or reported as dropped');
  t.equal(reported(), await dropped(), 'the stream reports what the metric counts');
  t.ok(delivered() > 0 && delivered() < total);
  t.match(raw, /\{"component":"m","dropped":\d+,"code":"TC_API_TAP_DROPPED"\}/);
});

t.test('the API cuts off slow clients and refuses connections past [api] http.max_connections', async (t) => {
  const { base, port, runtime } = await serve(t, toml, { http: { header_timeout: 1000, request_timeout: 2000, idle_timeout: 2000, max_connections: 10 } });
  const metrics = async () => runtime.metrics.text();
  const result = await checkSlowClients({
    port,
    count: 9,
    extra: 4,
    normal: () => getStatus(`${base}/health`),
    open: async () => metricValue(await metrics(), 'thermocline_http_connections_open', 'listener="api"'),
    refused: async () => metricValue(await metrics(), 'thermocline_http_connections_refused_total', 'listener="api"'),
  });
  t.equal(result.normalStatus, 200);
  t.equal(result.refused, 3);
});
