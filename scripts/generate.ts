/**
 * Regenerates the files that would otherwise drift from the code (`--check` in CI catches drift):
 *   src/plugins/builtin.ts       the list of built-in plugins, from the plugin folders
 *   docs/errors.md               the error catalogue
 *   config.schema.json           the JSON Schema of the config file, for editors
 *   src/plugins/<kind>/<type>/README.md   the options table between the markers
 * `tsx scripts/generate.ts --check` fails instead of writing when a file is stale (test/generated.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './generated-files.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [rel, content] of await generatedFiles(root)) {
  const file = path.join(root, rel);
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (current === content) continue;
  if (check) stale.push(rel);
  else {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    process.stdout.write(`wrote ${rel}\n`);
  }
}
if (stale.length > 0) {
  console.error(`stale generated files (run \`npm run generate\`):\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
