import t from 'tap';
import { ConfigError } from '../../src/core/errors.js';
import type { LogEvent, TelemetryEvent } from '../../src/core/events.js';
import { checkTopology, Topology, type GraphNode } from '../../src/core/topology/graph.js';
import { received } from '../helpers/memory-sink.js';
import { eventually, loadTestConfig, startPipeline, tempDir } from '../helpers/pipeline.js';
import { testTransforms } from '../helpers/test-transforms.js';

const node = (id: string, kind: GraphNode['kind'], inputs: string[] = [], namedOutputs: string[] = []): GraphNode => ({
  id,
  kind,
  inputs: inputs.map((i) => (i.includes('.') ? { component: i.split('.')[0] as string, output: i.split('.')[1] as string } : { component: i, output: '' })),
  namedOutputs,
  dependsOn: [],
});

t.test('start order: sinks (providers first), transforms, sources', async (t) => {
  const topo = new Topology([node('src', 'source'), node('tr', 'transform', ['src']), { ...node('exp', 'task'), dependsOn: ['pg'] }, node('pg', 'sink', ['tr'])]);
  t.same(
    topo.startOrder().map((n) => n.id),
    ['pg', 'exp', 'tr', 'src'],
  );
  t.same([...topo.reachableSinks('src')], ['pg']);
  t.same(checkTopology(topo).issues, []);
});

t.test('cycles are rejected with the path of the cycle', async (t) => {
  const topo = new Topology([node('src', 'source'), node('a', 'transform', ['src', 'c']), node('b', 'transform', ['a']), node('c', 'transform', ['b']), node('out', 'sink', ['c'])]);
  const { issues } = checkTopology(topo);
  t.equal(issues.length, 1);
  t.match(issues[0]?.message, /cycle: a -> b -> c -> a/);
});

t.test('unknown inputs, inputs from sinks, self inputs and missing named outputs', async (t) => {
  const topo = new Topology([
    node('src', 'source'),
    node('split', 'transform', ['src'], ['a', '_unmatched']),
    node('s1', 'sink', ['nope']),
    node('s2', 'sink', ['s1']),
    node('s3', 'sink', ['split']),
    node('s4', 'sink', ['split.b']),
    node('s5', 'sink', ['src.x']),
    node('t1', 'transform', ['t1']),
    node('s6', 'sink', []),
  ]);
  const messages = checkTopology(topo).issues.map((i) => `${i.path}: ${i.message}`);
  t.match(messages.join('\n'), /sinks\.s1\.inputs\[0\]: unknown input "nope"/);
  t.match(messages.join('\n'), /sinks\.s2\.inputs\[0\]: "s1" is a sink/);
  t.match(messages.join('\n'), /sinks\.s3\.inputs\[0\]: "split" has named outputs; use one of "split\.a", "split\._unmatched"/);
  t.match(messages.join('\n'), /sinks\.s4\.inputs\[0\]: "split" has no output "b"/);
  t.match(messages.join('\n'), /sinks\.s5\.inputs\[0\]: "src" has no output "x"; use "src"/);
  t.match(messages.join('\n'), /transforms\.t1\.inputs\[0\]: a component cannot consume its own output/);
  t.match(messages.join('\n'), /sinks\.s6\.inputs: a sink needs at least one input/);
});

t.test('a component nobody consumes is a warning, not an error', async (t) => {
  const cfg = await loadTestConfig('[sources.a]\ntype = "generator"\n[sources.b]\ntype = "generator"\n[sinks.out]\ntype = "blackhole"\ninputs = ["a"]\n', { dataDir: tempDir(t) });
  t.same(cfg.warnings, ['source "b" has no consumers: its events go nowhere']);
});

t.test('topology errors come with the config line of the input', async (t) => {
  const err = await loadTestConfig('[sources.a]\ntype = "generator"\n[sinks.out]\ntype = "blackhole"\ninputs = ["b"]\n', { dataDir: tempDir(t) }).catch((e: unknown) => e as ConfigError);
  t.ok(err instanceof ConfigError);
  t.equal((err as ConfigError).code, 'TC_TOPOLOGY');
  t.equal((err as ConfigError).issues[0]?.path, 'sinks.out.inputs[0]');
  t.equal((err as ConfigError).issues[0]?.line, 8, 'line counted in the full text, after the 3 header lines the harness adds');
});

const logSeq = (e: TelemetryEvent) => Number((e as LogEvent).labels.seq);

t.test('fan-out: one source to two sinks and a transform; the transform cannot change what the sinks got', async (t) => {
  await startPipeline(
    t,
    `
[sources.gen]
type = "generator"
rate = 0
count = 300
kinds = ["log"]

[transforms.tag]
type = "test_tag"
inputs = ["gen"]
key = "tagged"
value = "yes"

[sinks.a]
type = "memory_recorder"
inputs = ["gen"]

[sinks.b]
type = "memory_recorder"
inputs = ["gen"]

[sinks.c]
type = "memory_recorder"
inputs = ["tag"]
`,
    { extra: testTransforms },
  );
  await eventually(() => received('a').length === 300 && received('b').length === 300 && received('c').length === 300, 10_000, 'three sinks');
  t.same(received('a').map(logSeq), received('b').map(logSeq));
  t.ok(received('a').every((e) => !('tagged' in (e as LogEvent).labels)), 'the direct sink saw untagged events');
  t.ok(received('c').every((e) => (e as LogEvent).labels.tagged === 'yes'), 'the transformed copy is tagged');
});

t.test('fan-in and named outputs: two sources merge; a split routes by kind with _unmatched', async (t) => {
  await startPipeline(
    t,
    `
[sources.g1]
type = "generator"
rate = 0
count = 90
kinds = ["log", "metric", "span"]

[sources.g2]
type = "generator"
rate = 0
count = 30
kinds = ["log"]
service = "second"

[transforms.split]
type = "test_split"
inputs = ["g1", "g2"]
kinds = ["log", "metric"]

[sinks.logs]
type = "memory_recorder"
inputs = ["split.log"]

[sinks.rest]
type = "memory_recorder"
inputs = ["split.metric", "split._unmatched"]
`,
    { extra: testTransforms },
  );
  await eventually(() => received('logs').length === 60 && received('rest').length === 60, 10_000, 'split outputs');
  t.ok(received('logs').every((e) => e.kind === 'log'));
  t.equal(received('logs').filter((e) => e.kind === 'log' && e.service === 'second').length, 30, 'both sources feed the transform');
  t.same(new Set(received('rest').map((e) => e.kind)), new Set(['metric', 'span']));
});

t.test('a transform that throws does not stop the pipeline: its input is dead-lettered', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `
[sources.gen]
type = "generator"
rate = 0
count = 50
kinds = ["log"]
batch_size = 10

[transforms.bad]
type = "test_throw"
inputs = ["gen"]

[sinks.direct]
type = "memory_recorder"
inputs = ["gen"]

[sinks.after]
type = "memory_recorder"
inputs = ["bad"]
`,
    { extra: testTransforms },
  );
  await eventually(() => received('direct').length === 50, 10_000, 'direct sink');
  t.equal(received('after').length, 0);
  t.equal(runtime.store.deadLetterCount('bad'), 5, 'five input batches kept');
  t.match(runtime.store.deadLetters('bad')[0]?.error, /transform threw: boom/);
  t.equal(runtime.statuses().find((s) => s.id === 'bad')?.state, 'degraded');
});

t.test('a transform that threw is running again once a batch goes through', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `[sources.gen]\ntype = "generator"\nrate = 0\ncount = 50\nkinds = ["log"]\nbatch_size = 10\n[transforms.flaky]\ntype = "test_throw"\ninputs = ["gen"]\ntimes = 2\n[sinks.after]\ntype = "memory_recorder"\ninputs = ["flaky"]\n`,
    { extra: testTransforms },
  );
  await eventually(() => received('after').length === 30, 10_000, 'the batches after the failures');
  t.equal(runtime.store.deadLetterCount('flaky'), 2, 'the two failed batches are kept');
  t.equal(runtime.statuses().find((s) => s.id === 'flaky')?.state, 'running', 'not degraded forever');
});
