import { execFileSync } from 'node:child_process';
import t from 'tap';
import { repoRoot } from './helpers/agent-process.js';

/**
 * Files generated from code (plugin registry, docs/errors.md, config.schema.json, README
 * option tables) must match what the code generates now.
 */
t.test('generated files are up to date (run `npm run generate`)', async (t) => {
  let output = '';
  try {
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate.ts', '--check'], { cwd: repoRoot, stdio: 'pipe' });
  } catch (err) {
    output = String((err as { stderr?: Buffer }).stderr ?? err);
  }
  t.equal(output, '', 'no stale files');
});
