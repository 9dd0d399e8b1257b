import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { builtinPlugins } from '../src/plugins/builtin.js';
import { repoRoot } from './helpers/agent-process.js';

/**
 * Every built-in plugin runs the conformance kit of `thermocline/testing` (src/testing/conformance.ts:
 * schema, example, create/start/stop twice and stop without start, README options table, error
 * codes) from a conformance.test.ts in its own folder, as a custom plugin would. This test keeps a
 * new built-in from skipping it.
 */
for (const plugin of builtinPlugins) {
  t.test(`${plugin.kind} ${plugin.type} runs the conformance kit`, async (t) => {
    const file = path.join(repoRoot, 'src/plugins', `${plugin.kind}s`, plugin.type, 'conformance.test.ts');
    t.ok(fs.existsSync(file), `${path.relative(repoRoot, file)} exists`);
    if (!fs.existsSync(file)) return;
    const text = fs.readFileSync(file, 'utf8');
    t.match(text, /import plugin from '\.\/index\.js'/, 'on the plugin of its folder');
    t.match(text, /await runConformance\(t, plugin, \{ folder: new URL\('\.', import\.meta\.url\)/, 'with the folder, so README and error codes are checked');
  });
}
