import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/core/errors.js';
import { loadConfigFile, parseConfig } from '../../src/core/config/load.js';
import { builtinRegistry } from '../../src/plugins/registry.js';
import { tempDir } from '../helpers/pipeline.js';

const registry = builtinRegistry();
const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseConfig(text, { registry, env, file: 'test.toml' });

async function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigError> {
  try {
    await parse(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const minimal = `
[sources.gen]
type = "generator"

[sinks.out]
type = "blackhole"
inputs = ["gen"]
`;

t.test('a valid config parses, with defaults applied and the result frozen', async (t) => {
  const cfg = await parse(minimal);
  t.equal(cfg.api.address, '127.0.0.1:8686', 'the API binds loopback by default');
  t.equal(cfg.queue.synchronous, 'normal');
  const sink = cfg.components.find((c) => c.id === 'out');
  t.equal(sink?.sink?.buffer.max_bytes, 268435456);
  t.equal(sink?.sink?.buffer.when_full, 'block');
  t.ok(Object.isFrozen(sink?.options));
  t.throws(() => {
    (sink?.options as Record<string, unknown>).print_interval_secs = 1;
  });
});

t.test('a TOML syntax error names the file, line and column', async (t) => {
  const err = await issuesOf('[sources.gen]\ntype = "generator"\nrate = \n');
  t.equal(err.code, 'TC_CONFIG_SYNTAX');
  t.equal(err.issues[0]?.line, 3);
  t.match(err.message, /^test\.toml:3:\d+: syntax error/);
});

t.test('a duplicate key is a syntax error with its line', async (t) => {
  const err = await issuesOf('data_dir = "a"\ndata_dir = "b"\n');
  t.equal(err.code, 'TC_CONFIG_SYNTAX');
  t.equal(err.issues[0]?.line, 2);
});

t.test('unknown keys are rejected with their path and line, listing the allowed keys', async (t) => {
  const err = await issuesOf(`${minimal}\n[sinks.out.batch]\nmax_event = 5\n`);
  t.equal(err.code, 'TC_CONFIG_INVALID');
  const issue = err.issues.find((i) => i.path === 'sinks.out.batch.max_event');
  t.ok(issue, 'path includes the nested table');
  t.equal(issue?.line, 10);
  t.match(issue?.message, /unknown key "max_event"/);
});

t.test('an unknown top-level key lists the allowed ones', async (t) => {
  const err = await issuesOf(`datadir = "x"\n${minimal}`);
  t.match(err.issues[0]?.message, /unknown key "datadir"; allowed keys here: data_dir, api/);
  t.equal(err.issues[0]?.line, 1);
});

t.test('wrong types are reported with the key path and line', async (t) => {
  const err = await issuesOf(minimal.replace('type = "generator"', 'type = "generator"\nrate = "fast"'));
  const issue = err.issues.find((i) => i.path === 'sources.gen.rate');
  t.ok(issue);
  t.equal(issue?.line, 4);
  t.match(issue?.message, /expected number, received string/);
  t.equal(err.issues.length, 1, 'the sink consuming the invalid source is not reported as well');
});

t.test('every problem is reported in one pass', async (t) => {
  const err = await issuesOf(`
[sources.gen]
type = "generator"
rate = -1
bogus = true

[sinks.out]
type = "blackhole"
inputs = ["nope"]
buffer = { when_full = "explode" }
`);
  const paths = err.issues.map((i) => i.path).sort();
  t.same(paths, ['sinks.out.buffer.when_full', 'sinks.out.inputs[0]', 'sources.gen.bogus', 'sources.gen.rate'], 'the invalid sink\'s unknown input too');
  t.match(err.message, /4 problems/);
});

t.test('schema and topology problems are reported together, each with its code and line', async (t) => {
  const err = await issuesOf(`bogus_top = 1

[sources.gen]
type = "generator"

[transforms.t]
type = "canonicalize_labels"
inputs = ["gen"]
unknown_option = 1

[sinks.out]
type = "blackhole"
inputs = ["nope", "t"]
`);
  t.equal(err.code, 'TC_CONFIG_INVALID', 'several kinds of problems: the general code');
  const found = err.issues.map((i) => `${i.code} ${i.path}:${i.line}`).sort();
  t.same(found, ['TC_CONFIG_INVALID bogus_top:1', 'TC_CONFIG_INVALID transforms.t.unknown_option:9', 'TC_TOPOLOGY sinks.out.inputs[0]:13']);
  const only = await issuesOf(`${minimal.replace('inputs = ["gen"]', 'inputs = ["nope"]')}`);
  t.equal(only.code, 'TC_TOPOLOGY', 'one kind of problem: its own code');
  t.ok(only.issues.every((i) => i.code === 'TC_TOPOLOGY'));
});

t.test('a top-level section with a problem does not hide the components\' problems', async (t) => {
  const err = await issuesOf(`[api]\naddress = 12\n${minimal.replace('inputs = ["gen"]', 'inputs = ["gen", "missing"]')}`);
  t.same(err.issues.map((i) => `${i.code} ${i.path}`).sort(), ['TC_CONFIG_INVALID api.address', 'TC_TOPOLOGY sinks.out.inputs[1]']);
  const notTable = await issuesOf(`${minimal}\n[sinks]\nodd = 5\n`);
  t.same(notTable.issues.map((i) => i.path), ['sinks.odd'], 'a component that is no table does not hide its siblings');
});

t.test('with plugins skipped, custom plugin code is not run and its components are listed as not checked', async (t) => {
  const dir = tempDir(t);
  const marker = path.join(dir, 'imported');
  fs.writeFileSync(path.join(dir, 'plugin.mjs'), `import fs from 'node:fs';\nfs.writeFileSync(${JSON.stringify(marker)}, 'ran');\nexport default {};\n`);
  const text = `[plugins]\nload = ["./plugin.mjs"]\n[sources.custom]\ntype = "my_source"\nanything = 1\n[transforms.split]\ntype = "my_router"\ninputs = ["custom"]\n[sinks.out]\ntype = "blackhole"\ninputs = ["split.a"]\n`;
  const cfg = await parseConfig(text, { registry, env: {}, file: 'c.toml', baseDir: dir, plugins: 'skip' });
  t.notOk(fs.existsSync(marker), 'the plugin module was not imported');
  t.same(cfg.unchecked, [
    { path: 'sources.custom', type: 'my_source' },
    { path: 'transforms.split', type: 'my_router' },
  ]);
  t.same(cfg.components.map((c) => c.id), ['out'], 'built-in components are checked as usual');
  const err = await parseConfig(text.replace('inputs = ["custom"]', 'inputs = ["custom", "ghost"]').replace('type = "blackhole"', 'type = "blackhole"\nbogus = 1'), {
    registry,
    env: {},
    baseDir: dir,
    plugins: 'skip',
  }).then(
    () => undefined,
    (e: unknown) => e as ConfigError,
  );
  t.same(err?.issues.map((i) => `${i.code} ${i.path}`).sort(), ['TC_CONFIG_INVALID sinks.out.bogus', 'TC_TOPOLOGY transforms.split.inputs[1]'], 'other problems are still errors');
  const noLoad = await issuesOf(`[sources.gen]\ntype = "my_source"\n`);
  t.equal(noLoad.code, 'TC_PLUGIN_UNKNOWN_TYPE', 'without [plugins] load an unknown type stays an error');
});

t.test('an unknown plugin type names the known types', async (t) => {
  const err = await issuesOf(minimal.replace('"blackhole"', '"blackholes"'));
  t.equal(err.code, 'TC_PLUGIN_UNKNOWN_TYPE');
  t.match(err.issues[0]?.message, /unknown sink type "blackholes"; known sink types: .*blackhole/);
  t.equal(err.issues[0]?.path, 'sinks.out.type');
  t.equal(err.issues[0]?.line, 6);
});

t.test('a missing type says so', async (t) => {
  const err = await issuesOf('[sources.gen]\nrate = 1\n');
  t.match(err.issues[0]?.message, /is required: the source plugin type/);
});

t.test('environment interpolation: values, defaults, $$ and missing variables', async (t) => {
  const cfg = await parse(`data_dir = "\${DIR}/x$$y"\n[api]\naddress = "\${ADDR:-127.0.0.1:9999}"\n${minimal}`, { DIR: '/tmp/d' });
  t.equal(cfg.dataDir, '/tmp/d/x$y');
  t.equal(cfg.api.address, '127.0.0.1:9999');
  const err = await issuesOf(`data_dir = "\${NOPE}"\n${minimal}`);
  t.equal(err.code, 'TC_CONFIG_ENV');
  t.match(err.issues[0]?.message, /environment variable NOPE is not set/);
  t.equal(err.issues[0]?.line, 1);
  t.equal(err.issues.length, 1, 'the empty value the missing variable left is not reported as well');
});

t.test('a variable cannot change the shape of the config: it stays inside its one string', async (t) => {
  const evil = 'x"\n[sinks.evil]\ntype = "console"\ninputs = ["gen"]\n# [brackets] \'quotes\' ${NOT_A_REF} $$';
  const cfg = await parse(`${minimal}\n[sources.gen2]\ntype = "generator"\nservice = "\${EVIL}"\n[sinks.out2]\ntype = "blackhole"\ninputs = ["gen2"]\n`, { EVIL: evil });
  t.same(cfg.components.map((c) => c.id).sort(), ['gen', 'gen2', 'out', 'out2'], 'no [sinks.evil] component');
  t.equal(cfg.components.find((c) => c.id === 'gen2')?.options.service, evil, 'the value arrives verbatim, not interpolated again');
  const bare = await issuesOf(`data_dir = \${EVIL}\napi = \${EVIL}\n${minimal}`, { EVIL: evil });
  t.notOk(bare.issues.some((i) => i.path.includes('evil')), 'a bare reference cannot inject either');
  t.match(bare.issues, [{ path: 'api', line: 2 }], 'it is one (invalid) string value');
});

t.test('a bare whole-value reference becomes a number or boolean; quoted stays a string', async (t) => {
  const text = `[api]\nenabled = \${API_ON:-true}   # a comment\n[sources.gen]\ntype = "generator"\nrate = \${RATE}\nservice = "\${RATE}"\n[sinks.out]\ntype = "blackhole"\ninputs = ["gen"]\n`;
  const cfg = await parse(text, { RATE: '250', API_ON: '' });
  t.equal(cfg.api.enabled, true, 'a boolean from a default');
  const gen = cfg.components.find((c) => c.id === 'gen')?.options;
  t.equal(gen?.rate, 250, 'a number');
  t.equal(gen?.service, '250', 'a quoted reference stays a string');
  const err = await issuesOf(text, { RATE: '250\nbogus = 1' });
  t.same(
    err.issues.map((i) => `${i.path}:${i.line}`),
    ['sources.gen.rate:5'],
    'text that is no number stays a string, reported at its line, adding no key',
  );
  const missing = await issuesOf(text.replace('rate = ${RATE}', 'rate = 1\nkinds = ${KINDS}'), { RATE: '1' });
  t.match(missing.issues, [{ code: 'TC_CONFIG_ENV', path: 'sources.gen.kinds', line: 6, message: /KINDS is not set/ }]);
  t.equal(missing.issues.length, 1, 'the empty value it left is not reported as well');
  const multi = await parse(minimal.replace('type = "generator"', 'type = "generator"\nservice = """\na = ${SVC}\n"""'), { SVC: 'svc' });
  t.equal(multi.components.find((c) => c.id === 'gen')?.options.service, 'a = svc\n', 'a reference on its own line inside a multi-line string is text as written');
});

t.test('secret-looking variables are collected for log redaction', async (t) => {
  const cfg = await parse(`data_dir = "\${HOME_DIR}"\n[sinks.out]\ntype = "console"\ninputs = ["gen"]\n[sources.gen]\ntype = "generator"\nservice = "\${API_TOKEN}"\n`, {
    HOME_DIR: '/tmp/x',
    API_TOKEN: 's3cr3t-value',
  });
  t.same(cfg.secrets, ['s3cr3t-value']);
});

t.test('durations and sizes accept units and reject nonsense', async (t) => {
  const cfg = await parse(minimal.replace('inputs = ["gen"]', 'inputs = ["gen"]\nbuffer = { max_bytes = "64MiB" }'));
  t.equal(cfg.components.find((c) => c.id === 'out')?.sink?.buffer.max_bytes, 64 * 1024 * 1024);
  const err = await issuesOf(minimal.replace('inputs = ["gen"]', 'inputs = ["gen"]\nbuffer = { max_bytes = "lots" }'));
  t.match(err.issues[0]?.message, /"lots" is not a size/);
});

t.test('component ids must be unique across kinds and free of dots', async (t) => {
  const err = await issuesOf(`${minimal}\n[transforms.gen]\ntype = "nonexistent"\ninputs = ["gen"]\n`);
  t.match(err.issues.map((i) => i.message).join('\n'), /also used by a source/);
  const err2 = await issuesOf(minimal.replace('[sinks.out]', '[sinks."out.x"]'));
  t.match(err2.issues[0]?.message, /may contain only letters/);
});

t.test('the API address must be host:port', async (t) => {
  const err = await issuesOf(`[api]\naddress = "8686"\n${minimal}`);
  t.equal(err.issues[0]?.path, 'api.address');
  t.match(err.issues[0]?.message, /host:port/);
});

t.test('a config file that cannot be read', async (t) => {
  await t.rejects(loadConfigFile('/nonexistent/thermocline.toml', { registry }), { code: 'TC_CONFIG_READ' });
});

t.test('custom plugins load from a path; a module that is not a plugin is a clear error', async (t) => {
  const dir = tempDir(t);
  const good = path.resolve('test/fixtures/plugins/file-recorder.ts');
  fs.writeFileSync(path.join(dir, 'not-a-plugin.mjs'), 'export default { hello: 1 };\n');
  fs.writeFileSync(
    path.join(dir, 'c.toml'),
    `[plugins]\nload = [${JSON.stringify(good)}, "./not-a-plugin.mjs", "./missing.mjs", "no-such-package-xyz"]\n${minimal}`,
  );
  const err = await loadConfigFile(path.join(dir, 'c.toml'), { registry }).then(
    () => undefined,
    (e: unknown) => e as ConfigError,
  );
  t.ok(err);
  const messages = err?.issues.map((i) => `${i.path}: ${i.message}`) ?? [];
  t.equal(messages.length, 3, 'the good plugin loaded; three problems reported');
  t.match(messages[0], /plugins\.load\[1\]: module "\.\/not-a-plugin\.mjs" is not a plugin: has no kind/);
  t.match(messages[1], /plugins\.load\[2\]: cannot load plugin module "\.\/missing\.mjs"/);
  t.match(messages[2], /plugins\.load\[3\]: cannot load plugin module "no-such-package-xyz"/);
  fs.writeFileSync(path.join(dir, 'ok.toml'), `[plugins]\nload = [${JSON.stringify(good)}]\n${minimal.replace('type = "blackhole"', `type = "file_recorder"\npath = "${dir}/out.jsonl"`)}`);
  const cfg = await loadConfigFile(path.join(dir, 'ok.toml'), { registry });
  t.equal(cfg.components.find((c) => c.id === 'out')?.type, 'file_recorder');
  t.notOk(registry.get('sink', 'file_recorder'), 'custom plugins do not leak into the shared registry');
});

t.test('a value matching no form of a union says what each form wanted', async (t) => {
  const err = await issuesOf(minimal.replace('inputs = ["gen"]', 'inputs = ["gen"]\nbuffer = { max_bytes = true }'));
  t.equal(err.issues[0]?.path, 'sinks.out.buffer.max_bytes');
  t.match(err.issues[0]?.message, /matches none of the accepted forms: expected string, received boolean; or expected number, received boolean/);
});
