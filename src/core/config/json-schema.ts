import { z } from 'zod';
import type { AnyPlugin, ComponentKind } from '../plugin/types.js';
import { sinkCommonShape, sourceCommonShape, taskCommonShape, topLevelSchema, transformCommonShape } from './schema.js';

const COMMON: Record<ComponentKind, Record<string, z.ZodType>> = {
  source: sourceCommonShape,
  transform: transformCommonShape,
  sink: sinkCommonShape,
  task: taskCommonShape,
};

/**
 * The JSON Schema of the whole config file, for editors with a TOML language server (Taplo,
 * Even Better TOML): each component table is a `oneOf` over the plugin types, selected by `type`.
 */
export function configJsonSchema(plugins: readonly AnyPlugin[]): Record<string, unknown> {
  const componentSchema = (kind: ComponentKind) => {
    const variants = plugins
      .filter((p) => p.kind === kind)
      .sort((a, b) => a.type.localeCompare(b.type))
      .map((p) => {
        const schema = z.strictObject({ ...COMMON[kind], ...p.config.shape, type: z.literal(p.type).describe(p.summary) });
        const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
        delete json.$schema;
        return { title: p.type, ...json };
      });
    return { type: 'object', additionalProperties: { oneOf: variants } };
  };
  const top = z.toJSONSchema(topLevelSchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, unknown> } & Record<string, unknown>;
  return {
    ...top,
    $id: 'https://thermocline.dev/config.schema.json',
    title: 'Thermocline configuration',
    properties: {
      ...top.properties,
      sources: componentSchema('source'),
      transforms: componentSchema('transform'),
      sinks: componentSchema('sink'),
      tasks: componentSchema('task'),
    },
  };
}
