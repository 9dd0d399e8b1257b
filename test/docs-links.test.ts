import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from './helpers/agent-process.js';

/**
 * The documentation's relative links point at files that exist, and every built-in plugin has
 * the README that README.md's plugin table links to.
 */
function markdownFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name.startsWith('.')) return [];
    const full = path.join(dir, e.name);
    return e.isDirectory() ? markdownFiles(full) : e.name.endsWith('.md') ? [full] : [];
  });
}

const docs = ['README.md', 'docs', 'src', 'examples', 'config', 'bench'].flatMap((p) => {
  const full = path.join(repoRoot, p);
  if (!fs.existsSync(full)) return [];
  return fs.statSync(full).isDirectory() ? markdownFiles(full) : [full];
});

t.test('relative links in the documentation resolve', async (t) => {
  const broken: string[] = [];
  for (const file of docs) {
    // Links inside code blocks are examples, not links.
    const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = (m[1] as string).split('#')[0] as string;
      if (target === '' || /^[a-z]+:/i.test(target)) continue;
      if (!fs.existsSync(path.resolve(path.dirname(file), decodeURIComponent(target)))) broken.push(`${path.relative(repoRoot, file)}: ${m[1]}`);
    }
  }
  t.ok(docs.length > 10, `${docs.length} markdown files read`);
  t.strictSame(broken, [], 'no broken relative links');
});

t.test('every built-in plugin has a README with its options table', async (t) => {
  for (const kind of ['sources', 'transforms', 'sinks']) {
    for (const type of fs.readdirSync(path.join(repoRoot, 'src/plugins', kind))) {
      if (type.startsWith('_') || !fs.existsSync(path.join(repoRoot, 'src/plugins', kind, type, 'index.ts'))) continue;
      const readme = path.join(repoRoot, 'src/plugins', kind, type, 'README.md');
      t.ok(fs.existsSync(readme) && fs.readFileSync(readme, 'utf8').includes('<!-- options:start'), `${kind}/${type}/README.md`);
    }
  }
});
