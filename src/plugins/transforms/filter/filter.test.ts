import t from 'tap';
import { type ComponentContext, ConfigError } from '../../../index.js';
import { standaloneContext, manualSource, manualSources, received, eventually, loadTestConfig, startPipeline } from '../../../testing/index.js';
import { mixedBatch } from '../_shared/testdata/events.js';
import filter from './index.js';

function build(options: Record<string, unknown>) {
  const config = filter.config.parse(options);
  const issues = filter.validate?.(config) ?? [];
  if (issues.length > 0) throw new Error(JSON.stringify(issues));
  const { ctx } = standaloneContext('transform', 'f', 'filter', '/tmp');
  return { instance: filter.create(config, ctx as ComponentContext), ctx: ctx as ComponentContext };
}

t.test('keeps exactly the events the condition matches, in order, and counts the rest as dropped', async (t) => {
  const { instance, ctx } = build({ condition: { kind: 'log', level: ['error', 'fatal'] } });
  const batch = mixedBatch();
  const out = instance.process(batch);
  t.same(out, [batch[1], batch[7]]);
  t.equal((out as unknown[])[0], batch[1], 'events pass through uncopied');
  t.same(Object.fromEntries(ctx.metrics.stats.dropped), { filtered: 6 });
});

t.test('invert = true drops what matches and keeps the rest', async (t) => {
  const { instance } = build({ condition: { any: [{ kind: 'log', level: 'info' }, { kind: 'event' }] }, invert: true });
  const batch = mixedBatch();
  t.same(instance.process(batch), [batch[0], batch[1], batch[2], batch[4], batch[6], batch[7]]);
});

t.test('an empty batch stays empty and counts nothing', async (t) => {
  const { instance, ctx } = build({ condition: { kind: 'metric' } });
  t.same(instance.process([]), []);
  t.equal(ctx.metrics.stats.dropped.size, 0);
});

async function configError(toml: string): Promise<ConfigError> {
  try {
    await loadTestConfig(toml, { dataDir: '/tmp/thermocline-filter-config-test' });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const pipeline = (lines: string) => `[sources.gen]
type = "generator"

[transforms.f]
type = "filter"
inputs = ["gen"]
${lines}

[sinks.out]
type = "blackhole"
inputs = ["f"]
`;

t.test('invalid conditions are config errors with key path and line', async (t) => {
  const regex = await configError(pipeline('condition = { message = { not = { regex = "*oops" } } }'));
  t.same(regex.issues, [
    { path: 'transforms.f.condition.message.not.regex', code: 'TC_CONFIG_INVALID', line: 10, message: 'invalid regular expression "*oops": missing argument to repetition operator: `*`' },
  ]);
  const unknown = await configError(pipeline('condition = { kind = "log", severity_text = "ERROR" }'));
  t.same(
    unknown.issues.map((i) => [i.path, i.line, i.message]),
    [['transforms.f.condition.severity_text', 10, 'unknown key "severity_text"']],
  );
  const missing = await configError(pipeline('invert = true'));
  t.same(
    missing.issues.map((i) => [i.path, i.message]),
    [['transforms.f.condition', 'is required (object)']],
  );
  const kind = await configError(pipeline('condition = { kind = ["log", "trace"] }'));
  t.same(
    kind.issues.map((i) => [i.path, i.line, i.message]),
    [['transforms.f.condition.kind', 10, '"trace" can never match; the possible values are "log", "metric", "span", "event"']],
  );
});

t.test('through the runtime: only matching events reach the sink', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `
[sources.in]
type = "manual"

[transforms.drop_debug]
type = "filter"
inputs = ["in"]
condition = { kind = "log", level = ["info", "debug"] }
invert = true

[sinks.out]
type = "memory_recorder"
inputs = ["drop_debug"]
`,
    { extra: [manualSource] },
  );
  const batch = mixedBatch();
  await manualSources.get('in')?.emit(mixedBatch());
  await eventually(() => received('out').length === 7);
  t.same(received('out'), [batch[0], batch[1], batch[2], batch[4], batch[5], batch[6], batch[7]]);
  const text = await runtime.metrics.text();
  t.match(
    text,
    /thermocline_component_dropped_events_total\{component_id="drop_debug",component_kind="transform",component_type="filter",reason="filtered"\} 1/,
  );
});
