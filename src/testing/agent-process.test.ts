import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { childEnv, exited } from './agent-process.js';

/**
 * tap records every node process it sees start in .tap/processinfo/<uuid>.json, and writes the
 * coverage of those that collect it to .tap/coverage/<uuid>.json. Whether a child wrote coverage is
 * therefore a file on disk, found by the child's pid.
 */
const tapDir = path.join(process.env._TAPJS_PROCESSINFO_CWD_ ?? process.cwd(), '.tap');
const collecting = process.env._TAPJS_PROCESSINFO_COVERAGE_ === '1';

async function wroteCoverage(env: NodeJS.ProcessEnv): Promise<boolean> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10)'], { env, stdio: 'ignore' });
  const { code } = await exited(child);
  if (code !== 0) throw new Error(`child exited with ${code}`);
  for (const name of await readdir(path.join(tapDir, 'processinfo'))) {
    const info = JSON.parse(await readFile(path.join(tapDir, 'processinfo', name), 'utf8')) as { pid?: number; uuid?: string };
    if (info.pid === child.pid) return existsSync(path.join(tapDir, 'coverage', `${info.uuid}.json`));
  }
  throw new Error(`tap recorded no process ${child.pid}`);
}

t.test("childEnv keeps a child out of the test run's coverage", { skip: collecting ? false : 'the test runner is not collecting coverage' }, async (t) => {
  t.equal(await wroteCoverage(process.env), true, 'a child with the runner environment writes coverage (the control)');
  t.equal(await wroteCoverage(childEnv()), false, 'a child with childEnv() writes none');
  t.equal(await wroteCoverage(childEnv({ EXTRA: '1' })), false, 'extra variables do not bring it back');
});
