import { COMMON_KEYS } from '../config/schema.js';
import { isErrorCodeSet } from '../errors.js';
import type { AnyPlugin, ComponentKind, SinkPlugin, SourcePlugin, TaskPlugin, TransformPlugin } from './types.js';

const TYPE_NAME = /^[a-z][a-z0-9_]*$/;

type ByKind = { source: SourcePlugin; transform: TransformPlugin; sink: SinkPlugin; task: TaskPlugin };

/** Plugins by kind and type. Built-ins and custom plugins are registered the same way. */
export class PluginRegistry {
  private readonly plugins: { [K in ComponentKind]: Map<string, ByKind[K]> } = {
    source: new Map(),
    transform: new Map(),
    sink: new Map(),
    task: new Map(),
  };

  register(plugin: AnyPlugin): void {
    const problem = pluginProblem(plugin);
    if (problem) throw new Error(problem);
    const map = this.plugins[plugin.kind] as Map<string, AnyPlugin>;
    if (map.has(plugin.type)) throw new Error(`a ${plugin.kind} plugin of type "${plugin.type}" is already registered`);
    map.set(plugin.type, plugin);
  }

  get<K extends ComponentKind>(kind: K, type: string): ByKind[K] | undefined {
    return this.plugins[kind].get(type);
  }

  types(kind: ComponentKind): string[] {
    return [...this.plugins[kind].keys()].sort();
  }

  all(): AnyPlugin[] {
    return [...this.plugins.source.values(), ...this.plugins.transform.values(), ...this.plugins.sink.values(), ...this.plugins.task.values()];
  }

  clone(): PluginRegistry {
    const copy = new PluginRegistry();
    for (const p of this.all()) copy.register(p);
    return copy;
  }
}

/** Why a value is not a usable plugin, or undefined if it is one. */
export function pluginProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const p = value as Partial<AnyPlugin>;
  if (p.kind !== 'source' && p.kind !== 'transform' && p.kind !== 'sink' && p.kind !== 'task') return 'has no kind: build it with defineSource, defineTransform, defineSink or defineTask';
  if (typeof p.type !== 'string' || !TYPE_NAME.test(p.type)) return `type ${JSON.stringify(p.type)} must be lower_snake_case`;
  if (typeof p.create !== 'function') return `plugin "${p.type}" has no create function`;
  const shape = (p.config as { shape?: Record<string, unknown> } | undefined)?.shape;
  if (!shape || typeof shape !== 'object') return `plugin "${p.type}" has no config schema (a zod object, e.g. z.strictObject({...}))`;
  const clash = Object.keys(shape).filter((k) => (COMMON_KEYS[p.kind as ComponentKind] as readonly string[]).includes(k));
  if (clash.length > 0) return `plugin "${p.type}" declares options reserved by the runtime: ${clash.join(', ')}`;
  if (p.errors !== undefined && !isErrorCodeSet(p.errors)) return `plugin "${p.type}" declares \`errors\` that defineErrorCodes did not make`;
  return undefined;
}
