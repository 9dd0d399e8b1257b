import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';
import type { LogEvent, MetricEvent, SpanEvent } from '../../src/core/events.js';
import { connectClickHouse, connectPostgres } from '../../src/storage/index.js';
import { encodeMetrics } from '../../src/plugins/sinks/otlp_http/encode/metrics.js';
import { encodeTraces } from '../../src/plugins/sinks/otlp_http/encode/traces.js';
import { encodeLogs } from '../../src/plugins/sinks/otlp_http/encode/logs.js';
import { exited, freePorts, repoRoot, spawnAgent, stoppedGracefully } from '../helpers/agent-process.js';
import { eventually, tempDir, type TestContext } from '../helpers/pipeline.js';

/**
 * End-to-end harness: the agent as a child process on the default config
 * (config/thermocline.toml), with its directories and ports moved into a scratch directory
 * through the environment variables the default config reads.
 */
export interface Agent {
  dir: string;
  dataDir: string;
  logDir: string;
  targetsDir: string;
  config: string;
  env: NodeJS.ProcessEnv;
  api: string;
  otlp: string;
  child: ReturnType<typeof spawnAgent> | undefined;
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function defaultAgent(t: TestContext, edit: (toml: string) => string = (s) => s, env: NodeJS.ProcessEnv = {}): Promise<Agent> {
  const dir = tempDir(t, 'thermocline-e2e-');
  // As root the embedded PostgreSQL runs as "postgres", which must traverse to <dir>/data.
  fs.chmodSync(dir, 0o711);
  const dataDir = path.join(dir, 'data');
  const logDir = path.join(dir, 'log');
  const targetsDir = path.join(dir, 'targets');
  fs.mkdirSync(logDir);
  fs.mkdirSync(targetsDir);
  const config = path.join(dir, 'thermocline.toml');
  fs.writeFileSync(config, edit(fs.readFileSync(path.join(repoRoot, 'config/thermocline.toml'), 'utf8')));
  const [apiPort, otlpPort, eventsPort] = (await freePorts(3)) as [number, number, number];
  const agentEnv: NodeJS.ProcessEnv = {
    THERMOCLINE_DATA_DIR: dataDir,
    THERMOCLINE_LOG_DIR: logDir,
    THERMOCLINE_TARGETS_DIR: targetsDir,
    THERMOCLINE_API_ADDRESS: `127.0.0.1:${apiPort}`,
    THERMOCLINE_OTLP_ADDRESS: `127.0.0.1:${otlpPort}`,
    THERMOCLINE_EVENTS_ADDRESS: `127.0.0.1:${eventsPort}`,
    THERMOCLINE_SCHEMAS_DIR: path.join(repoRoot, 'config/schemas'),
    PG_URL: '',
    CH_URL: '',
    ...env,
  };
  const agent: Agent = {
    dir,
    dataDir,
    logDir,
    targetsDir,
    config,
    env: agentEnv,
    api: `http://127.0.0.1:${apiPort}`,
    otlp: `http://127.0.0.1:${otlpPort}`,
    child: undefined,
    async start() {
      const child = spawnAgent(config, { env: agentEnv });
      agent.child = child;
      await eventually(() => /API listening/.test(child.output()) || child.exitCode !== null, 90_000, 'agent start');
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${child.output()}`);
    },
    async kill(signal = 'SIGTERM') {
      const child = agent.child;
      if (!child) return;
      agent.child = undefined;
      child.kill(signal);
      const stop = await exited(child);
      if (signal === 'SIGTERM' && !stoppedGracefully(stop, child.output())) throw new Error(`agent exited with ${stop.code} (${stop.signal}) on SIGTERM:\n${child.output().slice(-4000)}`);
    },
  };
  t.teardown(() => agent.kill('SIGKILL'));
  return agent;
}

interface ComponentView {
  id: string;
  kind: string;
  state: string;
  sent_events: number;
  received_events: number;
  queue?: { events: number };
}

export async function components(api: string): Promise<ComponentView[]> {
  return (await (await fetch(`${api}/components`)).json()) as ComponentView[];
}

/** Wait until every sink queue is empty for a while (nothing more arriving). */
export async function drained(agent: Pick<Agent, 'api' | 'child'>, timeoutMs = 120_000): Promise<void> {
  const api = agent.api;
  let quietSince = 0;
  let lastIn = -1;
  let list: ComponentView[] = [];
  await eventually(
    async () => {
      list = await components(api);
      const queued = list.reduce((n, c) => n + (c.queue?.events ?? 0), 0);
      const seen = list.filter((c) => c.kind === 'source').reduce((n, c) => n + c.sent_events, 0);
      if (queued > 0 || seen !== lastIn) {
        lastIn = seen;
        quietSince = Date.now();
        return false;
      }
      return Date.now() - quietSince > 1500;
    },
    timeoutMs,
    'queues drained',
  ).catch((err: Error) => {
    const states = JSON.stringify(list.map((c) => ({ id: c.id, state: c.state, queue: c.queue?.events, sent: c.sent_events })));
    const problems = (agent.child?.output() ?? '').split('\n').filter((l) => l !== '' && !l.includes('"level":30'));
    throw new Error(`${err.message}; components: ${states}\nagent warnings and errors:\n${problems.slice(-40).join('\n')}`);
  });
}

/** Open the stores the agent wrote (after it stopped: the embedded engines are single-owner). */
export async function openStores(t: TestContext, dataDir: string) {
  const pg = await connectPostgres('embedded', { dataDir });
  const ch = await connectClickHouse('chdb://clickhouse', { dataDir });
  t.teardown(async () => {
    await ch.release();
    await pg.release();
  });
  const pgRows = async <T>(sql: string, params: unknown[] = []) => (await pg.pool.query(sql, params)).rows as T[];
  const chRows = async <T>(sql: string) => (await (await ch.client.query({ query: sql, format: 'JSONEachRow' })).json()) as T[];
  return { pg, ch, pgRows, chRows, db: ch.database };
}

/** POST an OTLP/protobuf body; resolves with the status and Retry-After. */
export async function postOtlp(base: string, signal: 'traces' | 'logs' | 'metrics', body: Uint8Array): Promise<{ status: number; retryAfter: string | null }> {
  const res = await fetch(`${base}/v1/${signal}`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
  await res.arrayBuffer();
  return { status: res.status, retryAfter: res.headers.get('retry-after') };
}

export const otlpBodies = {
  traces: (spans: SpanEvent[]) => encodeTraces(spans),
  logs: (logs: LogEvent[]) => encodeLogs(logs, []),
  metrics: (metrics: MetricEvent[]) => encodeMetrics(metrics),
};

const T0 = Date.now() * 1000;
export const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');

/** Span `i` of trace `i`; its logs share the trace id (the cross-source join). */
export function span(i: number, service = 'shop'): SpanEvent {
  return {
    kind: 'span',
    trace_id: hex(i + 1, 32),
    span_id: hex(i + 1, 16),
    parent_span_id: '',
    service,
    name: 'GET /checkout',
    start_us: T0 + i,
    end_us: T0 + i + 2000,
    duration_ns: 2_000_000,
    status_code: 'OK',
    status_message: '',
    attr: { 'item.id': String(i), 'span.kind': 'server' },
    events: [{ time_us: T0 + i + 10, name: 'cache miss', attr: { 'item.id': String(i) } }],
  };
}

export function otlpLog(i: number): LogEvent {
  return { kind: 'log', time_us: T0 + i, service: 'shop', host: 'web-1', level: 'info', trace_id: hex(i + 1, 32), span_id: hex(i + 1, 16), message: `otlp log ${i}`, labels: { 'item.id': String(i) } };
}

export function gauge(i: number): MetricEvent {
  return { kind: 'metric', type: 'gauge', name: 'e2e_items', labels: { item: String(i), service: 'shop' }, time_us: T0 + i * 1000, value: i };
}

/** A JSON log line as an application would write it, carrying the trace id of span `i`. */
export function logLine(i: number): string {
  return `${JSON.stringify({ time: new Date().toISOString(), level: 'warn', service: 'shop', message: `file line ${i}`, trace_id: hex(i + 1, 32), span_id: hex(i + 1, 16), line: i })}\n`;
}

/** A prom-client target on a free port, announced to the agent through a file_sd target file. */
export async function promTarget(t: TestContext, targetsDir: string) {
  const registry = new Registry();
  const requests = new Counter({ name: 'e2e_requests_total', help: 'Requests.', labelNames: ['code'], registers: [registry] });
  const latency = new Histogram({ name: 'e2e_latency_seconds', help: 'Latency.', buckets: [0.1, 1], registers: [registry] });
  requests.inc({ code: '200' }, 7);
  latency.observe(0.5);
  const server = http.createServer((_req, res) => {
    void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  fs.writeFileSync(path.join(targetsDir, 'e2e.json'), JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { job: 'e2e' } }]));
  return { port, requests, latency };
}
