/**
 * A ClickHouse server over HTTP that answers 5xx and resets connections, under a running pipeline:
 * the agent stays up, the sink shows `degraded` while it fails, and once the server answers again
 * every event is stored exactly once. The server is the stand-in (testdata/fake-server.ts): a
 * real one cannot be made to fail on cue.
 */
import t from 'tap';
import { eventually, logs, manualSource, manualSources, startPipeline } from '../../../testing/index.js';
import { rowsOf } from './testdata/bodies.js';
import { clickHouseError, FakeClickHouse } from './testdata/fake-server.js';

t.test('5xx answers and reset connections: retried, nothing lost, nothing twice', async (t) => {
  const server = new FakeClickHouse();
  const url = await server.listen();
  t.teardown(() => server.close());
  server.script.push(
    { status: 503, body: 'Service Unavailable' },
    { reset: true },
    { status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' },
    { reset: true },
    clickHouseError(252, 'TOO_MANY_PARTS', 'Too many parts'),
  );
  const { runtime } = await startPipeline(
    t,
    `[sources.m]
type = "manual"
[sinks.ch]
type = "clickhouse"
inputs = ["m"]
url = ${JSON.stringify(url)}
migrate = false
batch = { max_events = 100, timeout_secs = 0.05 }
retry = { initial_backoff_secs = 0.05, max_backoff_secs = 0.2 }
`,
    { extra: [manualSource] },
  );
  const src = manualSources.get('m')!;
  for (let i = 0; i < 3; i++) await src.emit(logs(i * 100, 100, 'request'));
  const state = () => runtime.statuses().find((s) => s.id === 'ch')?.state;
  await eventually(() => state() === 'degraded', 20_000, 'the sink degraded while the server fails');
  await eventually(() => runtime.queueOf('ch')!.batches === 0, 30_000, 'everything delivered once the server answers');
  t.equal(server.script.length, 0, 'every scripted failure was met');
  const stored = (await Promise.all(server.accepted.map((i) => rowsOf(t, i)))).flat();
  t.equal(stored.length, 300, 'each event stored once');
  t.equal(state(), 'running', 'and the sink is healthy again');
  t.match(await runtime.metrics.text(), /thermocline_component_errors_total\{component_id="ch",component_kind="sink",component_type="clickhouse",error_type="retryable"\} [1-9]/);
});
