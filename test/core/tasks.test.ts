import t from 'tap';
import { z } from 'zod';
import { ConfigError } from '../../src/core/errors.js';
import { defineTask } from '../../src/core/plugin/define.js';
import { received } from '../helpers/memory-sink.js';
import { logs, manualSource, manualSources } from '../helpers/manual-source.js';
import { eventually, loadTestConfig, startPipeline, tempDir } from '../helpers/pipeline.js';

/** Tasks: components without inputs or outputs, scheduled or running their own loop. */

const events: string[] = [];
let failRuns = 0;
const ticker = defineTask({
  type: 'test_ticker',
  summary: 'Test task: counts its scheduled runs in its state.',
  config: z.strictObject({ every_ms: z.number().default(20) }),
  dependsOn: () => ['rec'],
  schedule: (config) => ({ every_ms: config.every_ms, first_after_ms: 0 }),
  create(_config, ctx) {
    return {
      async start() {
        events.push(`start ${ctx.id}`);
      },
      async run() {
        if (failRuns > 0) {
          failRuns--;
          throw new Error('the database went away');
        }
        const n = Number(ctx.state.get('runs') ?? 0) + 1;
        ctx.state.set('runs', n);
      },
      async stop() {
        events.push(`stop ${ctx.id}`);
      },
    };
  },
});

const base = `[sources.m]\ntype = "manual"\n[sinks.rec]\ntype = "memory_recorder"\ninputs = ["m"]\n`;

t.test('a task starts after the sinks, runs on its schedule with state, and stops before the sinks', async (t) => {
  events.length = 0;
  const { runtime, logs: captured } = await startPipeline(t, `${base}[tasks.tick]\ntype = "test_ticker"\n`, { extra: [manualSource, ticker] });
  await eventually(() => Number(runtime.store.getState('tick', 'runs') ?? 0) >= 3, 10_000, 'three runs');
  t.same(
    runtime.statuses().map((s) => [s.id, s.kind, s.state]),
    [
      ['rec', 'sink', 'running'],
      ['tick', 'task', 'running'],
      ['m', 'source', 'running'],
    ],
  );
  await manualSources.get('m')!.emit(logs(0, 2));
  await eventually(() => received('rec').length === 2, 10_000, 'the pipeline beside it works');

  failRuns = 1;
  await eventually(() => runtime.statuses().find((s) => s.id === 'tick')?.state === 'degraded', 10_000, 'a failed run degrades the task');
  await eventually(() => runtime.statuses().find((s) => s.id === 'tick')?.state === 'running', 10_000, 'the next run recovers it');
  t.match(await runtime.metrics.text(), /thermocline_component_errors_total\{component_id="tick",component_kind="task",component_type="test_ticker",error_type="run"\} 1/);
  t.ok(captured.lines.some((l) => /task run failed, next run in/.test(String(l.msg))));

  await runtime.stop();
  const order = captured.lines.map((l) => String(l.msg));
  t.same(events, ['start tick', 'stop tick']);
  t.ok(order.includes('pipeline stopped'));
});

t.test('tasks are refused inputs, and a task cannot be an input', async (t) => {
  const dataDir = tempDir(t);
  const err = await loadTestConfig(`${base}[tasks.tick]\ntype = "test_ticker"\ninputs = ["m"]\n[sinks.other]\ntype = "memory_recorder"\ninputs = ["tick"]\n`, { dataDir, extra: [manualSource, ticker] }).catch((e: unknown) => e);
  t.ok(err instanceof ConfigError);
  const issues = (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`).join('\n');
  t.match(issues, /tasks\.tick.*inputs/, 'inputs is not a key of a task');
});

t.test('a task that depends on something that is not a sink is a topology error', async (t) => {
  const lonely = defineTask({ type: 'test_lonely', summary: 'Test task.', config: z.strictObject({}), dependsOn: () => ['m'], create: () => ({}) });
  const err = await loadTestConfig(`${base}[tasks.x]\ntype = "test_lonely"\n`, { dataDir: tempDir(t), extra: [manualSource, lonely] }).catch((e: unknown) => e);
  t.match(err, { code: 'TC_TOPOLOGY', message: /refers to "m", which is not a sink/ });
});

t.test('the old cagg_exporter sink points to the rollup_exporter task', async (t) => {
  const err = await loadTestConfig(`${base}[sinks.rollups]\ntype = "cagg_exporter"\npostgres = "embedded"\nclickhouse = "chdb://x"\n`, { dataDir: tempDir(t), extra: [manualSource] }).catch((e: unknown) => e);
  t.ok(err instanceof ConfigError);
  t.equal((err as ConfigError).code, 'TC_PLUGIN_RENAMED');
  t.match((err as ConfigError).issues[0], {
    path: 'sinks.rollups.type',
    code: 'TC_PLUGIN_RENAMED',
    message: 'the sink type "cagg_exporter" is now the task type "rollup_exporter": write [tasks.rollups] type = "rollup_exporter" instead of [sinks.rollups] type = "cagg_exporter"',
  });
});
