/**
 * Renders `{{name}}` placeholders of a migration file. An unknown placeholder is an error naming
 * the file: a typo must not silently produce SQL with a hole in it.
 */
import { StorageError } from '../errors.js';
import type { SqlFragment } from './sql-fragment.js';

export type TemplateValues = Readonly<Record<string, SqlFragment>>;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export function renderTemplate(fileName: string, template: string, values: TemplateValues): string {
  const unknown = new Set<string>();
  const rendered = template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined) {
      unknown.add(name);
      return whole;
    }
    return value;
  });
  if (unknown.size > 0) {
    throw new StorageError(
      'TC_MIGRATION_FILES_INVALID',
      `${fileName}: unknown placeholder(s) ${[...unknown].map((n) => `{{${n}}}`).join(', ')}; known: ${Object.keys(values).join(', ') || 'none'}`,
    );
  }
  return rendered;
}
