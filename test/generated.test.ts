import { execFileSync } from 'node:child_process';
import t from 'tap';
import { childEnv, repoRoot } from './helpers/agent-process.js';

/**
 * Files generated from code (plugin registry, docs/errors.md, config.schema.json, README
 * option tables) must match what the code generates now.
 */
t.test('generated files are up to date (run `npm run generate`)', async (t) => {
  let output = '';
  try {
    // childEnv: a tsx child writing coverage of src/ would corrupt the suite's (see childEnv).
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate.ts', '--check'], { cwd: repoRoot, stdio: 'pipe', env: childEnv() });
  } catch (err) {
    output = String((err as { stderr?: Buffer }).stderr ?? err);
  }
  t.equal(output, '', 'no stale files');
});
