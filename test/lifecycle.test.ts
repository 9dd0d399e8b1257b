import t from 'tap';
import { z } from 'zod';
import type { AnyPlugin } from '../src/core/plugin/types.js';
import { builtinPlugins } from '../src/plugins/builtin.js';
import { standaloneContext } from './helpers/context.js';
import { tempDir } from './helpers/pipeline.js';

/**
 * STYLE 12: every registered plugin, with its example options, validates, starts, and stops
 * twice; `stop` is also safe without `start`. Listen addresses in examples get port 0 here so
 * the test never collides with a running agent.
 */

function exampleOptions(plugin: AnyPlugin): Record<string, unknown> {
  const example: Record<string, unknown> = { ...(plugin.example ?? {}) };
  for (const [k, v] of Object.entries(example)) {
    if (typeof v === 'string' && /^(127\.0\.0\.1|localhost|0\.0\.0\.0):\d+$/.test(v) && /address|listen/.test(k)) example[k] = v.replace(/:\d+$/, ':0');
  }
  return example;
}

function allObjectsStrict(schema: z.ZodType): string[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const loose: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.type === 'object' && n.properties && n.additionalProperties !== false) loose.push(path || '(root)');
    for (const [k, v] of Object.entries(n)) walk(v, k === 'properties' || k === 'anyOf' || k === 'oneOf' || k === 'items' ? path : `${path}.${k}`);
  };
  walk(json, '');
  return loose;
}

// One data_dir for every plugin: the embedded ClickHouse engine binds one directory per process.
const dataDir = tempDir(t, 'thermocline-lifecycle-');

for (const plugin of builtinPlugins) {
  t.test(`${plugin.kind} ${plugin.type}`, async (t) => {
    t.match(plugin.summary, /\S/, 'has a summary');
    t.same(allObjectsStrict(plugin.config), [], 'every table of the schema rejects unknown keys');
    const parsed = plugin.config.safeParse(exampleOptions(plugin));
    t.ok(parsed.success, `example validates${parsed.success ? '' : `: ${parsed.error.message}`}`);
    if (!parsed.success) return;
    t.same(plugin.validate?.(parsed.data as never) ?? [], [], 'example passes the plugin checks');

    const fresh = standaloneContext(plugin.kind, `${plugin.type}_unstarted`, plugin.type, dataDir);
    const unstarted = plugin.create(parsed.data as never, fresh.ctx as never);
    if ('stop' in unstarted && unstarted.stop) {
      await unstarted.stop();
      await unstarted.stop();
    }
    t.pass('stop without start is safe');

    const { ctx } = standaloneContext(plugin.kind, plugin.type, plugin.type, dataDir);
    const instance = plugin.create(parsed.data as never, ctx as never);
    if ('start' in instance && instance.start) await instance.start();
    if ('stop' in instance && instance.stop) {
      await instance.stop();
      await instance.stop();
    }
    t.pass('starts and stops twice');
  });
}
