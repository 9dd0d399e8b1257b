import { PluginRegistry } from '../core/plugin/registry.js';
import { builtinPlugins } from './builtin.js';

/** A registry holding every built-in plugin; custom plugins are added per config load. */
export function builtinRegistry(): PluginRegistry {
  const registry = new PluginRegistry();
  for (const p of builtinPlugins) registry.register(p);
  return registry;
}
