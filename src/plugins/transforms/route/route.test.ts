import t from 'tap';
import { type ComponentContext, ConfigError, type TelemetryEvent } from '../../../index.js';
import { standaloneContext, manualSource, manualSources, received, eventually, loadTestConfig, startPipeline, tagTransform } from '../../../testing/index.js';
import { business, log, metric, mixedBatch, span } from '../_shared/testdata/events.js';
import route from './index.js';

function build(options: Record<string, unknown>) {
  const config = route.config.parse(options);
  const issues = route.validate?.(config) ?? [];
  if (issues.length > 0) throw new Error(JSON.stringify(issues));
  const { ctx } = standaloneContext('transform', 'split', 'route', '/tmp');
  return { config, instance: route.create(config, ctx as ComponentContext) };
}

const outputsOf = (result: unknown) => result as Record<string, TelemetryEvent[]>;

t.test('the documented routes split a mixed batch exactly', async (t) => {
  const { config, instance } = build({ route: { metrics: { kind: 'metric' }, errors: { kind: 'log', level: ['error', 'fatal'] } } });
  t.same(route.outputs?.(config), ['metrics', 'errors', '_unmatched']);
  const batch = mixedBatch();
  const out = outputsOf(instance.process(batch));
  t.same(Object.keys(out), ['metrics', 'errors', '_unmatched']);
  t.equal(out.metrics?.[0], batch[0], 'events are passed on, not copied, when they match one route');
  t.same(out.metrics, [batch[0], batch[4]]);
  t.same(out.errors, [batch[1], batch[7]]);
  t.same(out._unmatched, [batch[2], batch[3], batch[5], batch[6]]);
});

t.test('an event goes to every route it matches; each extra route gets its own copy', async (t) => {
  const { instance } = build({ route: { prod: { labels: { env: 'prod' } }, logs: { kind: 'log' }, spans: { kind: 'span' } } });
  const batch = [log(), metric(), span()];
  const out = outputsOf(instance.process(batch));
  t.same(out.prod, [batch[0]]);
  t.same(out.logs, [batch[0]], 'equal content');
  t.equal(out.prod?.[0], batch[0], 'the first route gets the event itself');
  t.not(out.logs?.[0], batch[0], 'the second route gets a copy');
  (out.logs?.[0] as { labels: Record<string, string> }).labels.tagged = 'yes';
  t.same(batch[0], log(), 'changing the copy leaves the original alone');
  t.same(out.spans, [batch[2]]);
  t.same(out._unmatched, [batch[1]]);
});

t.test('copies share nothing mutable, for every kind', async (t) => {
  const { instance } = build({ route: { a: {}, b: {} } });
  const originals = mixedBatch();
  const out = outputsOf(instance.process(mixedBatch()));
  const copies = out.b as TelemetryEvent[];
  t.same(copies, originals, 'same content');
  for (const e of copies) {
    if (e.kind === 'log' || e.kind === 'metric') e.labels.x = '1';
    if (e.kind === 'metric' && e.type === 'histogram') e.histogram.buckets['5'] = 9;
    if (e.kind === 'span') {
      e.attr.x = '1';
      for (const se of e.events) se.attr.x = '1';
    }
    if (e.kind === 'event') (e.payload.meta as Record<string, string>).by = 'someone';
  }
  t.same(out.a, originals, 'the first route saw none of the changes made to the copies');
});

t.test('exclusive = true stops at the first matching route, in the order written', async (t) => {
  const { instance } = build({ exclusive: true, route: { errors: { level: ['error', 'fatal'] }, payments: { service: 'payments' }, logs: { kind: 'log' } } });
  const batch = mixedBatch();
  const out = outputsOf(instance.process(batch));
  t.same(out.errors, [batch[1], batch[7]]);
  t.same(out.payments, [batch[6]], 'the fatal payments log went to errors only');
  t.same(out.logs, [batch[3]]);
  t.same(out._unmatched, [batch[0], batch[2], batch[4], batch[5]]);
  t.equal(out.errors?.[1], batch[7], 'no copies in exclusive mode');
});

t.test('every output is present, empty when nothing matched', async (t) => {
  const { instance } = build({ route: { metrics: { kind: 'metric' } } });
  t.same(instance.process([]), { metrics: [], _unmatched: [] });
  t.same(instance.process([business()]), { metrics: [], _unmatched: [business()] });
});

const dataDir = '/tmp/thermocline-route-config-test';

async function configError(toml: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigError> {
  try {
    await loadTestConfig(toml, { dataDir, env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

// loadTestConfig prepends three lines (data_dir, [api], enabled): line 4 is the first line below.
const pipeline = (routeLines: string, inputs = '["split.errors"]') => `[sources.gen]
type = "generator"

[transforms.split]
type = "route"
inputs = ["gen"]
${routeLines}

[sinks.out]
type = "blackhole"
inputs = ${inputs}
`;

t.test('TOML routes keep the order they are written in (exclusive depends on it)', async (t) => {
  const cfg = await loadTestConfig(pipeline('route.zeta = { kind = "metric" }\nroute.errors = { level = "error" }\nroute.alpha = { kind = "log" }'), {
    dataDir,
  });
  const spec = cfg.components.find((c) => c.id === 'split');
  t.same(Object.keys((spec?.options as { route: object }).route), ['zeta', 'errors', 'alpha']);
  t.same(cfg.topology.nodes.get('split')?.namedOutputs, ['zeta', 'errors', 'alpha', '_unmatched']);
});

t.test('a bad regex is a config error with its full key path and line', async (t) => {
  const err = await configError(pipeline('route.errors = { kind = "log" }\nroute.slow = { kind = "span", labels."http.route" = { regex = "^/api/(cart" } }'));
  t.equal(err.code, 'TC_CONFIG_INVALID');
  t.same(err.issues, [
    {
      path: 'transforms.split.route.slow.labels.http.route.regex',
      code: 'TC_CONFIG_INVALID',
      line: 11,
      message: 'invalid regular expression "^/api/(cart": missing closing ): `^/api/(cart`',
    },
  ]);
});

t.test('a route pattern with a backreference is a config error with its key path, line and reason', async (t) => {
  const err = await configError(pipeline('route.dup = { kind = "log", message = { regex = \'(a)\\1\' } }'));
  t.equal(err.code, 'TC_CONFIG_INVALID');
  t.match(err.issues, [{ path: 'transforms.split.route.dup.message.regex', line: 10, message: /cannot run in linear time: backreferences are not supported/ }]);
});

t.test('an unknown field is a config error with its path and line', async (t) => {
  const err = await configError(pipeline('route.errors = { kind = "log", lvl = "error" }'));
  t.same(
    err.issues.map((i) => [i.path, i.line, i.message]),
    [['transforms.split.route.errors.lvl', 10, 'unknown key "lvl"']],
  );
});

t.test('problems in nested matchers and tables name their full path', async (t) => {
  const err = await configError(
    pipeline(`
[transforms.split.route.errors]
kind = "log"
any = [ { level = "error" }, { level = { regexp = "^err" } } ]
not = { kind = "metrics" }
`),
  );
  t.same(
    err.issues.map((i) => [i.path, i.line, i.message]),
    [['transforms.split.route.errors.any[1].level.regexp', 13, 'unknown key "regexp"']],
    'schema problems come first; the plugin checks run on a config that passed the schema',
  );
  const err2 = await configError(pipeline('[transforms.split.route.errors]\nkind = "log"\nnot = { kind = "metrics" }\n'));
  t.same(
    err2.issues.map((i) => [i.path, i.line, i.message]),
    [['transforms.split.route.errors.not.kind', 12, '"metrics" can never match; the possible values are "log", "metric", "span", "event"']],
  );
});

t.test('reserved and malformed route names, and an empty route table, are config errors', async (t) => {
  const reserved = await configError(pipeline('route._unmatched = { kind = "log" }', '["split._unmatched"]'));
  t.same(
    reserved.issues.map((i) => [i.path, i.message]),
    [['transforms.split.route._unmatched', '"_unmatched" is reserved for the events no route matched; choose another route name']],
  );
  const malformed = await configError(pipeline('route."bad name" = { kind = "log" }', '["split._unmatched"]'));
  t.match(malformed.issues[0], { path: 'transforms.split.route.bad name', message: /only letters, digits/ });
  const empty = await configError(pipeline('route = {}', '["split._unmatched"]'));
  t.match(empty.issues[0], { path: 'transforms.split.route', message: /needs at least one route/ });
  const missing = await configError(pipeline('', '["split._unmatched"]'));
  t.match(missing.issues[0], { path: 'transforms.split.route', message: /is required/ });
});

t.test('consumers must name a route output: the topology check lists them', async (t) => {
  const err = await configError(pipeline('route.errors = { level = "error" }', '["split.error"]'));
  t.equal(err.code, 'TC_TOPOLOGY');
  t.match(err.issues[0]?.message, '"split" has no output "error"; it has "split.errors", "split._unmatched"');
  const bare = await configError(pipeline('route.errors = { level = "error" }', '["split"]'));
  t.match(bare.issues[0]?.message, 'has named outputs; use one of "split.errors", "split._unmatched"');
});

t.test("through the runtime: named outputs reach their sinks, and a transform on one route cannot touch another route's events", async (t) => {
  await startPipeline(
    t,
    `
[sources.in]
type = "manual"

[transforms.split]
type = "route"
inputs = ["in"]
route.metrics = { kind = "metric" }
route.errors = { kind = "log", level = ["error", "fatal"] }
route.payments = { service = "payments" }

[transforms.tag]
type = "test_tag"
inputs = ["split.payments"]
key = "tagged"
value = "yes"

[sinks.metrics]
type = "memory_recorder"
inputs = ["split.metrics"]

[sinks.errors]
type = "memory_recorder"
inputs = ["split.errors"]

[sinks.payments]
type = "memory_recorder"
inputs = ["tag"]

[sinks.rest]
type = "memory_recorder"
inputs = ["split._unmatched"]
`,
    { extra: [manualSource, tagTransform] },
  );
  const batch = mixedBatch();
  await manualSources.get('in')?.emit(mixedBatch());
  await eventually(
    () => received('rest').length === 3 && received('payments').length === 2 && received('errors').length === 2 && received('metrics').length === 2,
  );
  t.same(received('metrics'), [batch[0], batch[4]]);
  t.same(received('errors'), [batch[1], batch[7]], 'the fatal payments log in errors carries no tag from the payments branch');
  t.same(received('payments'), [batch[6], { ...batch[7], labels: { tagged: 'yes' } }]);
  t.same(received('rest'), [batch[2], batch[3], batch[5]]);
});
