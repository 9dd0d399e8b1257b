import { spawn } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import t from 'tap';
import type { LogEvent, SpanEvent } from '../src/core/events.js';
import { received } from './helpers/memory-sink.js';
import { logs, manualSource, manualSources } from './helpers/manual-source.js';
import { eventually, startPipeline } from './helpers/pipeline.js';
import { childEnv, repoRoot } from './helpers/agent-process.js';
import { loadConfigFile } from '../src/core/config/load.js';
import { builtinRegistry } from '../src/plugins/registry.js';

t.test('the example custom plugin loads from its path and runs in a pipeline', async (t) => {
  const plugin = path.join(repoRoot, 'examples/plugins/redact-emails/index.mjs');
  const { runtime } = await startPipeline(
    t,
    `[plugins]\nload = [${JSON.stringify(plugin)}]\n[sources.m]\ntype = "manual"\n[transforms.privacy]\ntype = "redact_emails"\ninputs = ["m"]\nreplacement = "<email>"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["privacy"]\n`,
    { extra: [manualSource] },
  );
  const [log] = logs(0, 1);
  const span: SpanEvent = {
    kind: 'span',
    trace_id: 'a'.repeat(32),
    span_id: 'b'.repeat(16),
    parent_span_id: '',
    service: 's',
    name: 'signup',
    start_us: 1,
    end_us: 2,
    duration_ns: 1000,
    status_code: 'OK',
    status_message: '',
    attr: { 'user.email': 'Jane.Doe+x@example.co.uk' },
    events: [],
  };
  await manualSources.get('m')!.emit([{ ...(log as LogEvent), message: 'login by bob@example.com from 10.0.0.1', labels: { user: 'alice@corp.io' } }, span]);
  await eventually(() => received('rec').length === 2);
  const [l, s] = received('rec') as [LogEvent, SpanEvent];
  t.equal(l.message, 'login by <email> from 10.0.0.1');
  t.same(l.labels, { user: '<email>' });
  t.same(s.attr, { 'user.email': '<email>' });
  t.match(await runtime.metrics.text(), /thermocline_redact_emails_masked_total\{component_id="privacy"\} 3/);
});

t.test("the example plugin's own tests pass: the conformance kit and a pipeline from thermocline/testing", async (t) => {
  // The file imports the package by name, as a published plugin would: that resolves to dist/
  // (npm test builds it first).
  const file = path.join(repoRoot, 'examples/plugins/redact-emails/index.test.mjs');
  const child = spawn(process.execPath, [file], { cwd: repoRoot, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.equal(code, 0, out);
  t.match(out, /ok \d+ - conformance transform redact_emails: lifecycle/);
  t.match(out, /ok \d+ - conformance transform redact_emails: readme/);
  t.notMatch(out, /not ok/);
});

t.test('the shipped configs are valid: the default pipeline and config/examples/*.toml', async (t) => {
  // nats-cluster.conf beside them is a nats-server config, not the agent's.
  const files = ['config/thermocline.toml', ...fs.readdirSync(path.join(repoRoot, 'config/examples')).filter((f) => f.endsWith('.toml')).map((f) => `config/examples/${f}`)];
  t.ok(files.includes('config/examples/edge-agent.toml') && files.includes('config/examples/gateway.toml'));
  const env = { PG_URL: 'postgres://thermocline@127.0.0.1:5432/telemetry', CH_URL: 'http://127.0.0.1:8123/telemetry', OTLP_TOKEN: 'a-token', NATS_PASSWORD: 'a-password' };
  for (const file of files) {
    const loaded = await loadConfigFile(path.join(repoRoot, file), { registry: builtinRegistry(), env });
    t.same(loaded.warnings, [], `${file}: no warnings`);
    t.ok(loaded.components.length >= 3, `${file}: ${loaded.components.map((c) => c.id).join(', ')}`);
  }
  // The default config must start with no environment at all, so that a first run needs nothing.
  const bare = await loadConfigFile(path.join(repoRoot, 'config/thermocline.toml'), { registry: builtinRegistry(), env: {} });
  t.match(
    bare.components.find((c) => c.id === 'pg'),
    { options: { url: 'embedded' } },
  );
  t.match(
    bare.components.find((c) => c.id === 'ch'),
    { options: { url: 'chdb://clickhouse' } },
  );
  const edge = await loadConfigFile(path.join(repoRoot, 'config/examples/edge-agent.toml'), { registry: builtinRegistry(), env: { OTLP_TOKEN: 'a-token' } });
  t.same(
    edge.components.filter((c) => c.kind === 'sink').map((c) => c.type),
    ['otlp_http'],
    'the edge agent only forwards',
  );
});
