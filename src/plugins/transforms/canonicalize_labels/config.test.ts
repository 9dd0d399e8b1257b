import t from 'tap';
import { ConfigError } from '../../../index.js';
import { loadTestConfig } from '../../../testing/index.js';

const dataDir = '/tmp/thermocline-canonicalize-config-test';

async function configError(toml: string): Promise<ConfigError> {
  try {
    await loadTestConfig(toml, { dataDir });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

// loadTestConfig prepends three lines: the options below start on line 10.
const pipeline = (lines: string) => `[sources.gen]
type = "generator"

[transforms.labels]
type = "canonicalize_labels"
inputs = ["gen"]
${lines}

[sinks.out]
type = "blackhole"
inputs = ["labels"]
`;

const problems = async (lines: string) => (await configError(pipeline(lines))).issues.map((i) => [i.path, i.line, i.message]);

t.test('a table with no options is valid, with the documented defaults', async (t) => {
  const cfg = await loadTestConfig(pipeline(''), { dataDir });
  t.match(cfg.components.find((c) => c.id === 'labels')?.options, {
    applies_to: ['metric', 'log', 'span'],
    trim: true,
    drop_empty_values: true,
    key_case: 'preserve',
    sanitize_names: 'none',
    add_mode: 'if_absent',
    max_series_per_metric: 10000,
    on_limit: 'drop',
    max_tracked_metrics: 20000,
    max_tracked_series: 1000000,
  });
});

t.test('a bad regex in drop or keep names its list index and line', async (t) => {
  t.same(await problems('drop = ["pid", { regex = "^tmp_(" }]\nkeep = [{ regex = "[a-" }]'), [
    ['transforms.labels.drop[1].regex', 10, 'invalid regular expression "^tmp_(": missing closing ): `^tmp_(`'],
    ['transforms.labels.keep[0].regex', 11, 'invalid regular expression "[a-": missing closing ]: `[a-`'],
  ]);
});

t.test('a drop or keep pattern that needs backtracking is a config error naming its key and why', async (t) => {
  const found = await problems("drop = [{ regex = '(x)\\1' }]\nkeep = [{ regex = '^(?!tmp_)' }]");
  t.same(
    found.map(([path, line]) => [path, line]),
    [
      ['transforms.labels.drop[0].regex', 10],
      ['transforms.labels.keep[0].regex', 11],
    ],
  );
  t.match(found[0]?.[2], /cannot run in linear time: backreferences are not supported/);
  t.match(found[1]?.[2], /cannot run in linear time: lookahead and lookbehind are not supported/);
});

t.test('on_limit must be drop, pass or drop_label:<name>', async (t) => {
  t.same(await problems('on_limit = "drop_label"'), [['transforms.labels.on_limit', 10, 'must be "drop", "pass" or "drop_label:<label name>"']]);
  t.same(await problems('on_limit = "block"'), [['transforms.labels.on_limit', 10, 'must be "drop", "pass" or "drop_label:<label name>"']]);
});

t.test('the tracker must hold one full metric', async (t) => {
  t.same(await problems('max_series_per_metric = 5000\nmax_tracked_series = 4000'), [
    ['transforms.labels.max_tracked_series', 11, "must be at least 5000 (max_series_per_metric) so that one metric's series fit"],
  ]);
  t.same(await problems('max_series_per_metric = 3000\non_limit = "drop_label:user"\nmax_tracked_series = 5000'), [
    ['transforms.labels.max_tracked_series', 12, "must be at least 6000 (max_series_per_metric × 2 for drop_label) so that one metric's series fit"],
  ]);
});

t.test('with Prometheus names, added label names must already be valid', async (t) => {
  t.same(await problems('sanitize_names = "prometheus"\nadd = { "k8s.cluster" = "eu", region = "w" }'), [
    ['transforms.labels.add.k8s.cluster', 11, '"k8s.cluster" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), and added labels are not sanitized'],
  ]);
});

t.test('schema errors: unknown keys, wrong types and enums, with lines', async (t) => {
  t.same(await problems('sanitize = "prometheus"'), [
    [
      'transforms.labels.sanitize',
      10,
      'unknown key "sanitize"; allowed keys here: type, inputs, applies_to, trim, drop_empty_values, key_case, sanitize_names, rename, drop, keep, lowercase_values, add, add_mode, max_label_value_bytes, max_series_per_metric, on_limit, max_tracked_metrics, max_tracked_series',
    ],
  ]);
  t.same(await problems('applies_to = ["metric", "trace"]'), [['transforms.labels.applies_to[1]', 10, 'must be one of "metric", "log", "span"']]);
  t.same(await problems('max_label_value_bytes = 0'), [['transforms.labels.max_label_value_bytes', 10, 'Too small: expected number to be >0']]);
  t.same(await problems('drop = [{ regexp = "x" }, ""]'), [
    ['transforms.labels.drop[0]', 10, 'must be a label name or a table `{ regex = "..." }`'],
    ['transforms.labels.drop[1]', 10, 'a label name cannot be empty'],
  ]);
  t.same(await problems('rename = { host = "" }'), [['transforms.labels.rename.host', 10, 'Too small: expected string to have >=1 characters']]);
});

t.test('add values take ${VAR} from the environment (the engine interpolates the whole file)', async (t) => {
  const cfg = await loadTestConfig(pipeline('add = { cluster = "${CLUSTER}", env = "${DEPLOY_ENV:-dev}" }'), { dataDir, env: { CLUSTER: 'eu-west-1' } });
  t.same(cfg.components.find((c) => c.id === 'labels')?.options.add, { cluster: 'eu-west-1', env: 'dev' });
  const err = await loadTestConfig(pipeline('add = { cluster = "${CLUSTER}" }'), { dataDir, env: {} }).catch((e: unknown) => e as ConfigError);
  t.match(err, { code: 'TC_CONFIG_ENV' });
  t.match((err as ConfigError).issues[0], { line: 10, message: /environment variable CLUSTER is not set/ });
});
