/**
 * Bounds on what the registry and the validator accept: a schema's size decides the typed table's
 * width (PostgreSQL allows 1,600 columns), and a payload's depth the validator's recursion.
 */
import { SchemaError } from './errors.js';

export const MAX_SCHEMA_PROPERTIES = 1_000;
export const MAX_SCHEMA_DEPTH = 32;
export const MAX_PAYLOAD_DEPTH = 32;

/** Counts declared properties and nesting in a schema document; throws past the limits. */
export function checkSchemaSize(schema: unknown): void {
  let properties = 0;
  let deepest = 0;
  const walk = (node: unknown, depth: number): void => {
    if (depth > deepest) deepest = depth;
    if (depth > MAX_SCHEMA_DEPTH || properties > MAX_SCHEMA_PROPERTIES) return;
    if (Array.isArray(node)) {
      for (const item of node) walk(item, depth + 1);
    } else if (typeof node === 'object' && node !== null) {
      const props = (node as Record<string, unknown>).properties;
      if (typeof props === 'object' && props !== null && !Array.isArray(props)) properties += Object.keys(props).length;
      for (const value of Object.values(node)) walk(value, depth + 1);
    }
  };
  walk(schema, 0);
  if (properties > MAX_SCHEMA_PROPERTIES) {
    throw new SchemaError('TC_SCHEMA_TOO_LARGE', `the schema declares more than ${MAX_SCHEMA_PROPERTIES} properties (counted: at least ${properties})`);
  }
  if (deepest > MAX_SCHEMA_DEPTH) {
    throw new SchemaError('TC_SCHEMA_TOO_LARGE', `the schema nests deeper than ${MAX_SCHEMA_DEPTH} levels`);
  }
}

/**
 * The JSON pointer of the first place where `value` nests deeper than `max` objects and arrays,
 * or undefined. Iterative, so a hostile payload cannot exhaust the stack.
 */
export function tooDeep(value: unknown, max = MAX_PAYLOAD_DEPTH): string | undefined {
  const stack: Array<[unknown, number, string]> = [[value, 0, '']];
  while (stack.length > 0) {
    const [node, depth, pointer] = stack.pop() as [unknown, number, string];
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= max) return pointer;
    for (const [key, child] of Object.entries(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1, `${pointer}/${escapePointer(key)}`]);
    }
  }
  return undefined;
}

/** RFC 6901: `~` and `/` in a key. */
export function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
