import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ConfigIssue, CORE_ERRORS } from '../errors.js';
import { pluginProblem, type PluginRegistry } from './registry.js';
import type { AnyPlugin } from './types.js';

/**
 * Loads custom plugins listed under `[plugins] load`: a path (relative to the config file) or an
 * npm package name. A module may export one plugin as default or `plugin`, or several as
 * `plugins` (an array).
 */
export async function loadCustomPlugins(specs: readonly string[], baseDir: string, registry: PluginRegistry): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  for (const [i, spec] of specs.entries()) {
    const where = `plugins.load[${i}]`;
    const isPath = spec.startsWith('.') || spec.startsWith('/') || /^[A-Za-z]:[\\/]/.test(spec);
    const target = isPath ? pathToFileURL(path.resolve(baseDir, spec)).href : spec;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(target)) as Record<string, unknown>;
    } catch (err) {
      issues.push({ path: where, code: CORE_ERRORS.TC_PLUGIN_LOAD, message: `cannot load plugin module "${spec}": ${(err as Error).message}` });
      continue;
    }
    const candidates: unknown[] = Array.isArray(mod.plugins) ? mod.plugins : [mod.default ?? mod.plugin];
    if (candidates.length === 0 || candidates[0] === undefined) {
      issues.push({ path: where, code: CORE_ERRORS.TC_PLUGIN_LOAD, message: `module "${spec}" is not a plugin: export default defineSource/defineTransform/defineSink(...) or "plugins" as an array` });
      continue;
    }
    for (const candidate of candidates) {
      const problem = pluginProblem(candidate);
      if (problem) {
        issues.push({ path: where, code: CORE_ERRORS.TC_PLUGIN_LOAD, message: `module "${spec}" is not a plugin: ${problem}` });
        continue;
      }
      try {
        registry.register(candidate as AnyPlugin);
      } catch (err) {
        issues.push({ path: where, code: CORE_ERRORS.TC_PLUGIN_LOAD, message: `module "${spec}": ${(err as Error).message}` });
      }
    }
  }
  return issues;
}
