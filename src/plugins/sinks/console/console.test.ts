import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { exited, spawnAgent, stoppedGracefully, eventually, tempDir } from '../../../testing/index.js';
import { text } from './text.js';

const T = Date.UTC(2026, 10, 21, 12, 0, 0) * 1000;

t.test('text encoding: one short line per event, for each kind', async (t) => {
  t.equal(
    text({ kind: 'log', time_us: T, service: 'api', host: 'h', level: 'warn', trace_id: '', span_id: '', message: 'slow request', labels: {} }),
    '2026-11-21T12:00:00.000Z WARN api slow request',
  );
  t.equal(
    text({ kind: 'metric', type: 'gauge', name: 'temp', labels: { room: 'a' }, time_us: T, value: 21.5 }),
    '2026-11-21T12:00:00.000Z gauge temp{"room":"a"} 21.5',
  );
  t.equal(
    text({ kind: 'metric', type: 'histogram', name: 'lat', labels: {}, time_us: T, histogram: { count: 3, sum: 0.6, buckets: { '+Inf': 3 } } }),
    '2026-11-21T12:00:00.000Z histogram lat{} count=3 sum=0.6',
  );
  t.equal(
    text({
      kind: 'span',
      trace_id: 'ab'.repeat(16),
      span_id: 'cd'.repeat(8),
      parent_span_id: '',
      service: 'api',
      name: 'GET /',
      start_us: T,
      end_us: T + 2500,
      duration_ns: 2_500_000,
      status_code: 'ERROR',
      status_message: '',
      attr: {},
      events: [],
    }),
    `2026-11-21T12:00:00.000Z span api GET / 2.5ms ERROR trace=${'ab'.repeat(16)}`,
  );
  t.equal(
    text({ kind: 'event', time_us: T, type: 'deploy', service: 'api', severity: 'info', payload: { version: '1.2.0' } }),
    '2026-11-21T12:00:00.000Z event deploy api info {"version":"1.2.0"}',
  );
});

t.test('an agent prints every event once to the chosen stream, apart from its own logs', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'c.toml');
  fs.writeFileSync(
    file,
    `data_dir = "${dir}/data"\n[api]\nenabled = false\n[sources.g]\ntype = "generator"\nrate = 0\ncount = 6\nkinds = ["log", "metric"]\n[sinks.print]\ntype = "console"\ninputs = ["g"]\ntarget = "stderr"\n`,
  );
  const agent = spawnAgent(file);
  t.teardown(() => agent.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  agent.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  agent.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const printed = () => stderr.split('\n').filter((l) => l.startsWith('{"kind"'));
  await eventually(() => printed().length >= 6, 20_000, 'six printed events');
  agent.kill('SIGTERM');
  t.ok(stoppedGracefully(await exited(agent), agent.output()));
  const events = printed().map((l) => JSON.parse(l) as { kind: string; labels: { seq: string } });
  t.strictSame(
    events.map((e) => `${e.kind}:${e.labels.seq}`),
    ['log:0', 'metric:1', 'log:2', 'metric:3', 'log:4', 'metric:5'],
  );
  t.match(stdout, /pipeline started/, "the agent's own logs are on stdout");
  t.notMatch(stdout, /"kind"/, 'and no event is');
});
