// A built-in plugin may import only what a custom plugin can: its own folder, the public API
// (src/index.ts = `thermocline`, src/storage/index.ts = `thermocline/storage`) and npm packages.
// Tests and testdata may also use src/testing/index.ts (`thermocline/testing`).
// docs/plugins.md#what-a-plugin-may-import explains why.
import path from 'node:path';

const PLUGIN_DIR = /^(.*\/src\/plugins\/(?:sources|transforms|sinks|tasks)\/[^/]+)\//;

function withoutExtension(file) {
  return file.replace(/\.(?:[cm]?js|[cm]?ts)$/, '');
}

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'keep built-in plugins to the public API plus their own folder' },
    schema: [],
    messages: {
      outside:
        "'{{source}}' is outside this plugin's folder: import it from the public API (src/index.ts, src/storage/index.ts{{testing}}) instead.",
    },
  },
  create(context) {
    const filename = context.filename.split(path.sep).join('/');
    const match = PLUGIN_DIR.exec(filename);
    if (!match) return {};
    const pluginDir = match[1];
    const src = pluginDir.replace(/\/plugins\/[^/]+\/[^/]+$/, '');
    const isTest = /\.test\.ts$/.test(filename) || filename.startsWith(`${pluginDir}/testdata/`);
    const entries = [`${src}/index`, `${src}/storage/index`];
    if (isTest) entries.push(`${src}/testing/index`);
    // Transforms share one event matcher (filter, route) and the linear-regex guard; the folder obeys
    // this rule itself, and is not public API, so its shape can still change.
    const shared = pluginDir.includes('/plugins/transforms/') ? `${src}/plugins/transforms/_shared/` : null;

    function check(node) {
      const source = node?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return; // npm packages and node: builtins
      const target = withoutExtension(path.posix.resolve(path.posix.dirname(filename), source));
      if (target.startsWith(`${pluginDir}/`)) return;
      if (entries.includes(target)) return;
      if (shared && target.startsWith(shared)) return;
      context.report({
        node,
        messageId: 'outside',
        data: { source, testing: isTest ? ', src/testing/index.ts' : '' },
      });
    }

    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => node.source && check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source),
    };
  },
};
