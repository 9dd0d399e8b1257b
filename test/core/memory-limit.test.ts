/**
 * `[memory] limit` (docs/delivery.md#memory-limit): over it, sources are held back as for a full
 * queue; below 90 % of it they resume. The guard's decisions are tested with a memory reading the
 * test controls; the agent's with real limits on a running pipeline.
 */
import t from 'tap';
import { MemoryGuard } from '../../src/core/runtime/memory-guard.js';
import { received } from '../helpers/memory-sink.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, loadTestConfig, startPipeline } from '../helpers/pipeline.js';

const MiB = 1 << 20;

t.test('the guard closes above the limit and opens below 90 % of it', async (t) => {
  let used = 50 * MiB;
  const changes: boolean[] = [];
  const guard = new MemoryGuard({ limit: 100 * MiB, sample: () => used, onChange: (over) => changes.push(over) });
  t.notOk(guard.check(), 'under the limit: open');
  used = 101 * MiB;
  t.ok(guard.check(), 'over: closed');
  let resumed = false;
  const waiting = guard.whenUnder().then(() => (resumed = true));
  used = 95 * MiB;
  t.ok(guard.check(), 'between 90 % and the limit: still closed, so it does not flap at the line');
  t.notOk(resumed);
  used = 89 * MiB;
  t.notOk(guard.check(), 'below 90 %: open');
  await waiting;
  t.ok(resumed, 'waiters are released');
  t.same(changes, [true, false], 'one change each way');
  t.equal(guard.usedBytes, 89 * MiB, 'the last reading');
});

t.test('limit 0 turns the guard off; a new limit applies at once', async (t) => {
  let used = 500 * MiB;
  const guard = new MemoryGuard({ limit: 0, sample: () => used });
  t.notOk(guard.check(), 'off');
  guard.setLimit(100 * MiB);
  t.ok(guard.isOver(), 'a limit under the reading closes it');
  guard.setLimit(0);
  t.notOk(guard.isOver(), 'turning it off opens it');
  used = 0;
});

const TOML = (limit: string) => `
[memory]
limit = ${limit}

[sources.m]
type = "manual"

[sinks.rec]
type = "memory_recorder"
inputs = ["m"]
`;

t.test('over the limit, sources are held back as for a full queue, and resume after a reload raises it', async (t) => {
  // One byte: always over, whatever a collection frees.
  const { runtime, dataDir, logs: captured } = await startPipeline(t, TOML('1'), { extra: [manualSource] });
  const src = manualSources.get('m')!;
  t.ok(src.isBlocked(), 'isBlocked: scrapers skip');
  t.equal(await src.emit(logs(0, 3), { at: 3 }, { wait: false }), 'full', 'a receiver is told to refuse (OTLP answers 503)');
  t.equal(runtime.store.getCheckpoint('m'), undefined, 'nothing committed');
  const line = captured.lines.find((l) => l.code === 'TC_MEMORY_LIMIT');
  t.ok(line, 'a warning with the code');
  t.match(String(line?.msg), /over \[memory\] limit/);
  const metrics = await runtime.metrics.registry.metrics();
  t.match(metrics, /thermocline_memory_limited 1/);
  t.match(metrics, /thermocline_memory_limit_bytes 1\n/);

  const waiting = src.emit(logs(3, 2), { at: 5 });
  await runtime.reload(await loadTestConfig(TOML('"1GiB"'), { dataDir, extra: [manualSource] }));
  t.equal(await waiting, 'accepted', 'a waiting emit goes through once memory is under the new limit');
  t.same(runtime.store.getCheckpoint('m'), { at: 5 });
  await eventually(() => received('rec').length === 2);
  t.notOk(src.isBlocked());
  t.match(await runtime.metrics.registry.metrics(), /thermocline_memory_limited 0/);
  t.ok(
    captured.lines.some((l) => /memory back under the limit/.test(String(l.msg))),
    'the recovery is logged',
  );
});

t.test('the default limit is 1 GiB and a size is required', async (t) => {
  const { config } = await startPipeline(t, `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\n`, { extra: [manualSource] });
  t.equal(config.memory.limit, 1024 * MiB);
  await t.rejects(loadTestConfig(TOML('"lots"'), { dataDir: t.testdirName, extra: [manualSource] }), /memory\.limit|not a size/);
});
