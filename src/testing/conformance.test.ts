import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { defineTransform } from '../core/plugin/define.js';
import type { AnyPlugin } from '../core/plugin/types.js';
import { z } from 'zod';
import {
  exampleOptions,
  exampleProblems,
  lifecycleProblems,
  readmeProblems,
  runConformance,
  schemaProblems,
  tempDir,
  uncataloguedErrorCodes,
} from './index.js';
import broken from './testdata/broken-plugin/index.js';

const brokenFolder = fileURLToPath(new URL('./testdata/broken-plugin/', import.meta.url));
const plugin = broken as AnyPlugin;

t.test('each check reports what a broken plugin gets wrong', async (t) => {
  t.same(schemaProblems(plugin), [
    'the plugin has no summary',
    'type "BrokenPlugin" is not lower_snake_case',
    'table (root) of the schema accepts unknown keys (use z.strictObject)',
    'table tls of the schema accepts unknown keys (use z.strictObject)',
  ]);
  t.match(exampleProblems(plugin), [/^example: endpoint: /]);
  t.same(await lifecycleProblems(plugin, { endpoint: 'x' }, tempDir(t)), [
    'a second stop without start threw: stopped twice',
    'a second stop threw: stopped twice',
  ]);
  t.same(readmeProblems(plugin, path.join(brokenFolder, 'README.md')), [
    `the options table in ${path.join(brokenFolder, 'README.md')} is stale: run \`npm run generate\``,
  ]);
  t.same(readmeProblems(plugin, path.join(brokenFolder, 'MISSING.md')), [`${path.join(brokenFolder, 'MISSING.md')} does not exist`]);
  t.same(uncataloguedErrorCodes(brokenFolder, ['TC_CONFIG_INVALID', 'TC_DECLARED_ONLY']), ['TC_BROKEN_NOT_CATALOGUED', 'TC_DECLARED_ONLY']);
});

t.test('listen addresses of the example move to port 0', async (t) => {
  const listener = {
    kind: 'source',
    type: 'l',
    summary: 's',
    config: plugin.config,
    example: { address: '127.0.0.1:4318', url: '127.0.0.1:9' },
  } as unknown as AnyPlugin;
  t.same(exampleOptions(listener), { address: '127.0.0.1:0', url: '127.0.0.1:9' });
});

t.test('runConformance passes a conforming plugin without a folder, saying what it skipped', async (t) => {
  const comments: string[] = [];
  const comment = t.comment.bind(t);
  t.comment = (...message: unknown[]) => (comments.push(message.join(' ')), comment(...message));
  const passThrough = defineTransform({
    type: 'pass_through',
    summary: 'Passes events on.',
    config: z.strictObject({ note: z.string().default('') }),
    create: () => ({ process: (events) => events }),
  });
  await runConformance(t, passThrough as AnyPlugin, { skip: { lifecycle: 'a reason' } });
  t.same(comments, [
    'conformance transform pass_through: lifecycle skipped: a reason',
    'conformance transform pass_through: readme skipped: no plugin folder given',
    'conformance transform pass_through: errorCodes skipped: no plugin folder or error codes given',
  ]);
});
