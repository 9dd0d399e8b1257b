import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);

/** The thermocline package's root directory (this file is src/testing/ or dist/testing/ in it). */
export const packageRoot = path.resolve(path.dirname(here), '../..');

/**
 * How to start the CLI: from the sources through tsx when this module runs from them (the
 * repository's own tests), else the compiled `dist/cli.js` of the installed package.
 */
function cliArgs(): string[] {
  return here.endsWith('.ts') ? ['--import', 'tsx', path.join(packageRoot, 'src/cli.ts')] : [path.join(packageRoot, 'dist/cli.js')];
}

/**
 * The environment of a child process that runs the sources through tsx, without the test runner's
 * coverage collection. tap loads the same files through its own TypeScript loader, and coverage is
 * merged by file and byte offset, so counts from two differently compiled copies of one file
 * corrupt each other: a full run's merged coverage read about 52 % or 93 % depending on which copy
 * the merge met first.
 *
 * tap (through @tapjs/processinfo) collects coverage with the inspector in every node process it
 * sees start, and a child inherits that from `_TAPJS_PROCESSINFO_COVERAGE_`; '0' turns it off.
 * NODE_V8_COVERAGE is removed too, for runners that collect through it (c8, `node --test`).
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, _TAPJS_PROCESSINFO_COVERAGE_: '0' };
  delete env.NODE_V8_COVERAGE;
  return env;
}

/** Start `thermocline run -c <config>` as a child process; `nodeArgs` go to node itself (V8 flags). */
export function spawnAgent(
  config: string,
  options: { env?: NodeJS.ProcessEnv; args?: string[]; nodeArgs?: string[] } = {},
): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...cliArgs(), 'run', '-c', config, ...(options.args ?? [])], {
    cwd: packageRoot,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return Object.assign(child, { output: () => out });
}

/** Run the CLI to completion; resolves with its exit code and output. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliArgs(), ...args], {
      cwd: packageRoot,
      env: childEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Resolves once the process exited and its output has been read to the end (or after 5 s). */
export async function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const result =
    child.exitCode !== null || child.signalCode !== null
      ? { code: child.exitCode, signal: child.signalCode }
      : await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // 'exit' can come before the last lines on stdout/stderr: the assertions read them.
  const drained = (stream: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean }) =>
    stream.readableEnded || stream.destroyed ? undefined : new Promise((r) => (stream.once('end', r), stream.once('close', r)));
  await Promise.race([Promise.all([child.stdout, child.stderr].map((s) => (s ? drained(s) : undefined))), new Promise((r) => setTimeout(r, 5000).unref())]);
  return result;
}

/**
 * Whether an agent sent SIGTERM stopped gracefully. Exit code 0, or: in coverage runs, a process
 * that completed its stop (it logged "pipeline stopped", and @tapjs/processinfo recorded exit
 * code 0 for it) has been seen reported by the kernel as killed by SIGTERM. Only that case is
 * accepted besides 0; a stop cut short never logs "pipeline stopped".
 */
export function stoppedGracefully(result: { code: number | null; signal: NodeJS.Signals | null }, output: string): boolean {
  return result.code === 0 || (result.signal === 'SIGTERM' && /"msg":"pipeline stopped"/.test(output));
}

export { freePorts } from '../core/net.js';
