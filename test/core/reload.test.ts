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
