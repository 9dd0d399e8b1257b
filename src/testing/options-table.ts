/**
 * A plugin README's options table, generated from the plugin's config schema (the schema is the
 * single source of truth for options, defaults and their descriptions). `npm run generate` writes
 * the tables of the built-in plugins' READMEs with these functions, and the conformance kit
 * (conformance.ts) checks any plugin's README against them.
 */
import { z } from 'zod';

export const OPTIONS_TABLE_START = '<!-- options:start (generated from config.ts by `npm run generate`) -->';
export const OPTIONS_TABLE_END = '<!-- options:end -->';

/** `readme` with the text between the options markers replaced by `table` (unchanged without markers). */
export function withOptionsTable(readme: string, table: string): string {
  const a = readme.indexOf(OPTIONS_TABLE_START);
  const b = readme.indexOf(OPTIONS_TABLE_END);
  if (a < 0 || b < a) return readme;
  return `${readme.slice(0, a + OPTIONS_TABLE_START.length)}\n${table}\n${readme.slice(b)}`;
}

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  required?: string[];
}

function typeOf(node: JsonSchemaNode): string {
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (node.anyOf) return [...new Set(node.anyOf.map(typeOf))].join(' \\| ');
  if (node.type === 'array') return `array of ${node.items ? typeOf(node.items) : 'any'}`;
  if (node.type === 'object') return 'table';
  return Array.isArray(node.type) ? node.type.join(' \\| ') : (node.type ?? 'any');
}

/** A Markdown table of a schema's options, nested tables flattened as `a.b`. */
export function optionsTable(schema: z.ZodType): string {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const rows: string[] = ['| option | type | default | description |', '| --- | --- | --- | --- |'];
  const walk = (node: JsonSchemaNode, prefix: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const name = prefix ? `${prefix}.${key}` : key;
      const required = node.required?.includes(key) && child.default === undefined;
      const def = child.default === undefined ? (required ? '**required**' : '') : `\`${JSON.stringify(child.default)}\``;
      const desc = (child.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
      rows.push(`| \`${name}\` | ${typeOf(child)} | ${def} | ${desc} |`);
      if (child.type === 'object' && child.properties) walk(child, name);
    }
  };
  walk(root, '');
  return rows.join('\n');
}
