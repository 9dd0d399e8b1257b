import t from 'tap';
import type { LogEvent } from '../../src/core/events.js';
import { received, recorded } from '../helpers/memory-sink.js';
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
