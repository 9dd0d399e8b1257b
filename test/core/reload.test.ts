import t from 'tap';
import type { LogEvent } from '../../src/core/events.js';
import { failures, received, recorded } from '../helpers/memory-sink.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, loadTestConfig, startPipeline } from '../helpers/pipeline.js';

const seq = (e: unknown) => Number((e as LogEvent).labels.seq);

t.test('reload adds, changes and removes components; unchanged ones keep running and queued data survives', async (t) => {
  const before = `[sources.m]\ntype = "manual"\n[sinks.a]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = 300\n[sinks.gone]\ntype = "memory_recorder"\ninputs = ["m"]\n`;
  const { runtime, dataDir } = await startPipeline(t, before, { extra: [manualSource] });
  const src = manualSources.get('m')!;
  for (let i = 0; i < 5; i++) await src.emit(logs(i * 2, 2));
  t.ok(runtime.queueOf('a')!.batches > 0, 'sink a has a backlog when the reload starts');

  const oldA = recorded.get('a')!; // the restarted sink records into a new list
  const after = `[sources.m]\ntype = "manual"\n[sinks.a]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = 0\n[sinks.b]\ntype = "memory_recorder"\ninputs = ["m"]\n`;
  const result = await runtime.reload(await loadTestConfig(after, { dataDir, extra: [manualSource] }));
  t.same(result.stopped.sort(), ['a', 'gone']);
  t.same(result.started.sort(), ['a', 'b']);
  t.equal(manualSources.get('m'), src, 'the unchanged source was not restarted');
  await src.emit(logs(10, 2));
  const allA = () => [...oldA.events, ...received('a')];
  await eventually(() => allA().length === 12 && received('b').length === 2, 10_000, 'deliveries after reload');
  t.same(allA().map(seq), Array.from({ length: 12 }, (_, i) => i), 'sink a lost nothing across its restart, in order');
  t.same(received('b').map(seq), [10, 11], 'the new sink gets what arrives after the reload');
  t.notOk(runtime.statuses().some((s) => s.id === 'gone'));
});

t.test('reload with new buffer limits keeps a memory queue and its contents, and wakes waiting sources', async (t) => {
  const sink = (maxBytes: number, type = 'memory') => `[sources.m]\ntype = "manual"\n[sinks.a]\ntype = "memory_recorder"\ninputs = ["m"]\nbuffer = { type = "${type}", max_bytes = ${maxBytes} }\n`;
  const { runtime, dataDir } = await startPipeline(t, sink(1), { extra: [manualSource] });
  failures.set('a', Array(1000).fill('retryable')); // hold everything in the queue
  const src = manualSources.get('m')!;
  await src.emit(logs(0, 2));
  t.ok(runtime.queueOf('a')!.isFull(), 'one batch fills a 1-byte queue');
  const waiting = src.emit(logs(2, 2)); // blocks: the queue is full
  const queue = runtime.queueOf('a');
  await runtime.reload(await loadTestConfig(sink(1 << 20), { dataDir, extra: [manualSource] }));
  t.equal(runtime.queueOf('a'), queue, 'the same queue object');
  t.equal(runtime.queueOf('a')!.options.max_bytes, 1 << 20, 'with the new limit');
  await waiting; // the larger limit made room
  await runtime.reload(await loadTestConfig(`${sink(1 << 20, 'disk')}`, { dataDir, extra: [manualSource] }));
  t.equal(runtime.queueOf('a')!.options.type, 'memory', 'a new buffer type waits for a restart');
  failures.set('a', []);
  await eventually(() => received('a').length === 4, 10_000, 'everything delivered');
  t.same(received('a').map(seq), [0, 1, 2, 3], 'nothing queued in memory was lost by the reloads');
});

t.test('overlapping reloads run one after the other, in the order they were asked for', async (t) => {
  const config = (delay: number) => `[sources.m]\ntype = "manual"\n[sinks.a]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = ${delay}\n`;
  const { runtime, dataDir, logs: captured } = await startPipeline(t, config(0), { extra: [manualSource] });
  const [one, two] = await Promise.all([1, 2].map((d) => loadTestConfig(config(d), { dataDir, extra: [manualSource] })));
  // Both are asked for at once (two SIGHUPs): the second sees the first's result as its "before".
  const results = await Promise.all([runtime.reload(one!), runtime.reload(two!)]);
  t.same(results, [
    { started: ['a'], stopped: ['a'] },
    { started: ['a'], stopped: ['a'] },
  ]);
  t.equal(runtime.currentConfig.components, two!.components, 'the last one asked for is in force');
  t.equal(runtime.statuses().filter((s) => s.id === 'a').length, 1, 'one instance of the sink runs');
  t.equal(captured.lines.filter((l) => l.msg === 'configuration reloaded').length, 2);
});

t.test('a reload during a stop is refused with a code, and the stop waits for a reload in progress', async (t) => {
  const config = (delay: number) => `[sources.m]\ntype = "manual"\n[sinks.a]\ntype = "memory_recorder"\ninputs = ["m"]\ndelay_ms = ${delay}\n`;
  const { runtime, dataDir } = await startPipeline(t, config(0), { extra: [manualSource] });
  const next = await loadTestConfig(config(5), { dataDir, extra: [manualSource] });
  const inProgress = runtime.reload(next);
  const stopping = runtime.stop();
  await t.rejects(runtime.reload(await loadTestConfig(config(7), { dataDir, extra: [manualSource] })), { code: 'TC_RELOAD_REFUSED', message: /stopping/ });
  t.same(await inProgress, { started: ['a'], stopped: ['a'] }, 'the reload asked for before the stop completed');
  await stopping;
  t.same(runtime.statuses(), [], 'and the stop then stopped what it started: nothing is left running');
});
