import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { exited, freePorts, repoRoot, runCli, spawnAgent, stoppedGracefully } from './helpers/agent-process.js';
import { eventually, tempDir } from './helpers/pipeline.js';

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string };

t.test('--version and --help', async (t) => {
  const v = await runCli(['--version']);
  t.equal(v.code, 0);
  t.equal(v.stdout.trim(), `thermocline ${pkg.version}`);
  const h = await runCli(['--help']);
  t.equal(h.code, 0);
  t.match(h.stdout, /thermocline run/);
  t.match(h.stdout, /sinks: .*blackhole/);
  const bad = await runCli(['frobnicate']);
  t.equal(bad.code, 64);
  t.match(bad.stderr, /unknown command "frobnicate"/);
});

t.test('validate: 0 for a good config, 78 with every problem listed for a bad one', async (t) => {
  const dir = tempDir(t);
  const good = path.join(dir, 'good.toml');
  fs.writeFileSync(good, `data_dir = "${dir}/d"\n[sources.g]\ntype = "generator"\n[sinks.o]\ntype = "blackhole"\ninputs = ["g"]\n`);
  const ok = await runCli(['validate', '-c', good]);
  t.equal(ok.code, 0);
  t.match(ok.stdout, /valid \(1 sources, 0 transforms, 1 sinks\)/);
  const bad = path.join(dir, 'bad.toml');
  fs.writeFileSync(bad, `[sources.g]\ntype = "generator"\nrat = 5\n[sinks.o]\ntype = "blackhole"\ninputs = ["h"]\n`);
  const res = await runCli(['validate', '-c', bad]);
  t.equal(res.code, 78, 'EX_CONFIG, as Vector');
  t.match(res.stderr, /error\[TC_CONFIG_INVALID\]: invalid configuration in .*bad\.toml/);
  t.match(res.stderr, /bad\.toml:3: sources\.g\.rat: unknown key "rat"/);
  t.match(res.stderr, /bad\.toml:6: sinks\.o\.inputs\[0\]: unknown input "h"/);
  t.match(res.stderr, /hint: /);
  const missing = await runCli(['validate', '-c', path.join(dir, 'nope.toml')]);
  t.equal(missing.code, 78);
  t.match(missing.stderr, /TC_CONFIG_READ/);
});

t.test('validate: problems of several kinds each carry their code, with a hint per code', async (t) => {
  const dir = tempDir(t);
  const bad = path.join(dir, 'bad.toml');
  fs.writeFileSync(bad, `[sources.g]\ntype = "generator"\nrat = 5\n[sinks.o]\ntype = "blackhole"\ninputs = ["h"]\nbogus = 1\n`);
  const res = await runCli(['validate', '-c', bad]);
  t.equal(res.code, 78);
  t.match(res.stderr, /- \[TC_CONFIG_INVALID\] .*bad\.toml:3: sources\.g\.rat: unknown key "rat"/);
  t.match(res.stderr, /- \[TC_CONFIG_INVALID\] .*bad\.toml:7: sinks\.o\.bogus: unknown key "bogus"/);
  t.match(res.stderr, /- \[TC_TOPOLOGY\] .*bad\.toml:6: sinks\.o\.inputs\[0\]: unknown input "h"/, 'the invalid sink\'s unknown input in the same pass');
  t.match(res.stderr, /hint: \[TC_CONFIG_INVALID\] /);
  t.match(res.stderr, /hint: \[TC_TOPOLOGY\] /);
});

t.test('validate --no-plugins: custom plugin code is not run, its components are listed as not checked', async (t) => {
  const dir = tempDir(t);
  const marker = path.join(dir, 'ran');
  fs.writeFileSync(path.join(dir, 'evil.mjs'), `import fs from 'node:fs';\nfs.writeFileSync(${JSON.stringify(marker)}, 'x');\nexport default {};\n`);
  const file = path.join(dir, 'c.toml');
  fs.writeFileSync(file, `data_dir = "${dir}/d"\n[plugins]\nload = ["./evil.mjs"]\n[sources.c]\ntype = "custom_thing"\n[sinks.o]\ntype = "blackhole"\ninputs = ["c"]\n`);
  const res = await runCli(['validate', '-c', file, '--no-plugins']);
  t.equal(res.code, 0, res.stderr);
  t.notOk(fs.existsSync(marker), 'the plugin module was not imported');
  t.match(res.stdout, /not checked: sources\.c \(type "custom_thing"\)/);
  t.match(res.stdout, /valid \(0 sources, 0 transforms, 1 sinks; 1 not checked\)/);
  const loaded = await runCli(['validate', '-c', file]);
  t.equal(loaded.code, 78, 'without the flag the module is imported (and is no plugin)');
  t.ok(fs.existsSync(marker), 'which ran its code');
  t.match(loaded.stderr, /TC_PLUGIN_LOAD|is not a plugin/);
  const help = await runCli(['--help']);
  t.match(help.stdout, /--no-plugins/);
});

t.test('run: an invalid config exits 78 before starting anything', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'c.toml');
  fs.writeFileSync(file, '[sources.g\n');
  const res = await runCli(['run', '-c', file]);
  t.equal(res.code, 78);
  t.match(res.stderr, /c\.toml:1:\d+: syntax error/);
});

t.test('run: a data_dir that cannot be written is a clear error, exit 1', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'blocker'), 'x');
  const file = path.join(dir, 'c.toml');
  fs.writeFileSync(
    file,
    `data_dir = "${dir}/blocker/data"\n[api]\nenabled = false\n[sources.g]\ntype = "generator"\n[sinks.o]\ntype = "blackhole"\ninputs = ["g"]\n`,
  );
  const res = await runCli(['run', '-c', file]);
  t.equal(res.code, 1);
  t.match(res.stderr, /error\[TC_DATA_DIR\]: data_dir ".*blocker\/data" is not a writable directory/);
  t.match(res.stderr, /hint: Point `data_dir` at a writable directory/);
});

t.test('run: a second agent on the same data_dir refuses to start; the lock dies with its holder (SIGKILL)', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'c.toml');
  fs.writeFileSync(
    file,
    `data_dir = "${dir}/data"\n[api]\nenabled = false\n[sources.g]\ntype = "generator"\nrate = 10\n[sinks.o]\ntype = "blackhole"\ninputs = ["g"]\n`,
  );
  const first = spawnAgent(file);
  await eventually(() => /pipeline started/.test(first.output()), 20_000, 'first start');
  const second = await runCli(['run', '-c', file]);
  t.equal(second.code, 1);
  t.match(second.stderr, /error\[TC_DATA_DIR_IN_USE\]: data_dir ".*\/data" is in use by another running Thermocline agent/);
  first.kill('SIGKILL');
  await exited(first);
  const third = spawnAgent(file);
  t.teardown(() => third.kill('SIGKILL'));
  await eventually(() => /pipeline started/.test(third.output()) || third.exitCode !== null, 20_000, 'start after SIGKILL');
  t.match(third.output(), /pipeline started/, 'no stale lock after the holder was killed');
  third.kill('SIGTERM');
  t.ok(stoppedGracefully(await exited(third), third.output()));
});

t.test('run: SIGHUP reloads (an invalid new config keeps the old pipeline); SIGTERM stops cleanly; secrets never reach the logs', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'c.toml');
  const base = `data_dir = "${dir}/data"\n[api]\nenabled = false\n[sources.g]\ntype = "generator"\nrate = 50\nservice = "\${SERVICE_TOKEN}"\n`;
  fs.writeFileSync(file, `${base}[sinks.o]\ntype = "blackhole"\ninputs = ["g"]\nprint_interval_secs = 0.2\n`);
  const agent = spawnAgent(file, { env: { SERVICE_TOKEN: 'hunter2-secret' } });
  await eventually(() => /pipeline started/.test(agent.output()), 20_000, 'start');
  fs.writeFileSync(file, `${base}[sinks.o]\ntype = "blackhole"\ninputs = ["nope"]\n`);
  agent.kill('SIGHUP');
  await eventually(() => /new configuration is invalid; keeping the running pipeline/.test(agent.output()), 10_000, 'rejected reload');
  fs.writeFileSync(
    file,
    `${base}[sinks.o]\ntype = "blackhole"\ninputs = ["g"]\nprint_interval_secs = 0.1\n[sinks.p]\ntype = "blackhole"\ninputs = ["g"]\nprint_interval_secs = 0\n[queue]\nsynchronous = "full"\n`,
  );
  agent.kill('SIGHUP');
  await eventually(() => /configuration reloaded/.test(agent.output()), 10_000, 'reload');
  t.match(agent.output(), /\[queue\] changed; it takes effect when the agent restarts/, 'a section read only at start is named, not silently ignored');
  agent.kill('SIGTERM');
  t.ok(stoppedGracefully(await exited(agent), agent.output()));
  const out = agent.output();
  t.match(out, /"stopped":\["o"\],"started":\["o","p"\]/);
  t.match(out, /pipeline stopped/);
  t.notMatch(out, /hunter2-secret/, 'the secret value is not in the output');
});

t.test('run: an agent whose sources have all finished keeps running until it is stopped, then stops gracefully', async (t) => {
  // With the API disabled and a generator that reached its count, nothing else holds the event
  // loop: the agent used to exit on its own, skipping the graceful stop, and a SIGTERM racing
  // that exit killed it.
  const dir = tempDir(t);
  const file = path.join(dir, 'c.toml');
  fs.writeFileSync(
    file,
    `data_dir = "${dir}/data"\n[api]\nenabled = false\n[sources.g]\ntype = "generator"\nrate = 0\ncount = 50\n[sinks.o]\ntype = "blackhole"\ninputs = ["g"]\nprint_interval_secs = 0\n`,
  );
  const agent = spawnAgent(file);
  t.teardown(() => agent.kill('SIGKILL'));
  await eventually(() => /all events generated/.test(agent.output()) || agent.exitCode !== null, 20_000, 'the generator finishing');
  await new Promise((r) => setTimeout(r, 2000));
  t.equal(agent.exitCode, null, 'still running after its only source finished');
  t.equal(agent.signalCode, null);
  agent.kill('SIGTERM');
  t.ok(stoppedGracefully(await exited(agent), agent.output()));
  t.match(agent.output(), /"msg":"pipeline stopped"/);
});

t.test('run: an error nobody handles is logged and the agent keeps running; an existing data_dir others can read is warned about', async (t) => {
  const dir = tempDir(t);
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir, { mode: 0o755 });
  fs.chmodSync(dataDir, 0o755);
  const plugin = path.join(repoRoot, 'test/fixtures/plugins/misbehaving-sink.ts');
  const file = path.join(dir, 'c.toml');
  fs.writeFileSync(
    file,
    `data_dir = "${dataDir}"\n[api]\nenabled = false\n[plugins]\nload = [${JSON.stringify(plugin)}]\n[sources.g]\ntype = "generator"\nrate = 20\n[sinks.o]\ntype = "misbehaving"\ninputs = ["g"]\n`,
  );
  const agent = spawnAgent(file);
  t.teardown(() => agent.kill('SIGKILL'));
  await eventually(() => /an error event nobody listens to/.test(agent.output()) || agent.exitCode !== null, 20_000, 'the third unhandled error');
  t.match(agent.output(), /uncaught exception; the agent keeps running.*thrown from a timer/);
  t.match(agent.output(), /unhandled promise rejection; the agent keeps running.*rejected and never handled/);
  t.match(agent.output(), /data_dir .* has mode 0755: other users can list it/);
  const before = (agent.output().match(/misbehaving sink totals/g) ?? []).length;
  await eventually(
    () => (agent.output().match(/misbehaving sink totals/g) ?? []).length > before + 2 || agent.exitCode !== null,
    20_000,
    'deliveries after the errors',
  );
  t.equal(agent.exitCode, null, 'still running');
  agent.kill('SIGTERM');
  t.ok(stoppedGracefully(await exited(agent), agent.output()));
});

t.test('tap and top read a running agent through its API', async (t) => {
  const dir = tempDir(t);
  const [port] = (await freePorts(1)) as [number];
  const file = path.join(dir, 'c.toml');
  fs.writeFileSync(
    file,
    `data_dir = "${dir}/data"\n[api]\naddress = "127.0.0.1:${port}"\n[sources.gen]\ntype = "generator"\nrate = 200\nkinds = ["log"]\n[sinks.o]\ntype = "blackhole"\ninputs = ["gen"]\nprint_interval_secs = 0\n`,
  );
  const agent = spawnAgent(file);
  t.teardown(() => agent.kill('SIGKILL'));
  await eventually(() => /API listening/.test(agent.output()), 20_000, 'API up');
  const tap = await runCli(['tap', 'gen', '--limit', '3', '--api', `127.0.0.1:${port}`]);
  t.equal(tap.code, 0, tap.stderr);
  const lines = tap.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { component: string; event: { kind: string } });
  t.equal(lines.length, 3);
  t.ok(lines.every((l) => l.component === 'gen' && l.event.kind === 'log'));
  const top = await runCli(['top', '--once', '-c', file]);
  t.equal(top.code, 0, top.stderr);
  t.match(top.stdout, /COMPONENT\s+KIND\s+TYPE\s+STATE/);
  t.match(top.stdout, /gen\s+source\s+generator\s+running/);
  t.match(top.stdout, /o\s+sink\s+blackhole\s+running/);
  const down = await runCli(['top', '--once', '--api', '127.0.0.1:1']);
  t.equal(down.code, 1);
  t.match(down.stderr, /cannot reach the agent's API at http:\/\/127\.0\.0\.1:1/);
});
