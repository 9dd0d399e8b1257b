/**
 * Schema files named in the config (`schemas = ["./schemas/*.json"]`): one JSON Schema per file,
 * the file name without `.json` is the event type. A `*` or `?` may appear in the file name part
 * of a pattern (not in directories), which is what schema folders need.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { SchemaError, errorMessage } from '../../../index.js';

export interface SchemaFile {
  readonly file: string;
  readonly type: string;
  readonly schema: unknown;
}

function nameMatcher(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '[^/]');
  return new RegExp(`^${escaped}$`);
}

/** The files the patterns name, sorted; a pattern without wildcards must name an existing file. */
export async function expandSchemaPatterns(patterns: readonly string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    const dir = path.dirname(pattern);
    const base = path.basename(pattern);
    if (!/[*?]/.test(base)) {
      files.add(path.resolve(pattern));
      continue;
    }
    const matcher = nameMatcher(base);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      throw new SchemaError('TC_SCHEMA_FILE', `cannot read the schema directory of "${pattern}": ${errorMessage(err)}`);
    }
    for (const name of names) if (matcher.test(name)) files.add(path.resolve(dir, name));
  }
  return [...files].sort();
}

export async function readSchemaFile(file: string): Promise<SchemaFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SchemaError('TC_SCHEMA_FILE', `cannot read schema file ${file}: ${errorMessage(err)}`);
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    throw new SchemaError('TC_SCHEMA_FILE', `schema file ${file} is not valid JSON: ${errorMessage(err)}`);
  }
  return { file, type: path.basename(file).replace(/\.json$/, ''), schema };
}
