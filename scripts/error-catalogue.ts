import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyPlugin } from '../src/core/plugin/types.js';

/**
 * The error catalogue behind docs/errors.md, built from an explicit list of code sets: the core's,
 * the storage layer's, the schema registry's and the `errors` each built-in plugin declares. Anything that would make the
 * page silently incomplete throws: a module that cannot be imported, a plugin folder with an
 * `errors.ts` whose plugin does not declare it, a code defined twice, or a `TC_…` code written
 * anywhere in `src/` that no set defines.
 */

export interface CatalogueEntry {
  code: string;
  title: string;
  hint: string;
  /** The module that defines it, for messages about duplicates. */
  definedIn: string;
}

export interface PluginFolder {
  /** e.g. `src/plugins/sinks/postgres` */
  dir: string;
  plugin: AnyPlugin;
}

/** A code as written in source: `TC_` and upper case, at least one letter after the prefix. */
export const CODE_IN_SOURCE = /\bTC_[A-Z][A-Z0-9_]*\b/g;

export async function errorCatalogue(root: string, plugins: readonly PluginFolder[]): Promise<CatalogueEntry[]> {
  const imp = (rel: string) => import(pathToFileURL(path.join(root, rel)).href);
  const core = (await imp('src/core/errors.ts')) as typeof import('../src/core/errors.js');
  const storage = (await imp('src/storage/errors.ts')) as typeof import('../src/storage/errors.js');
  const registry = (await imp('src/registry/errors.ts')) as typeof import('../src/registry/errors.js');
  const sets: Array<[string, import('../src/core/errors.js').ErrorCodes]> = [
    ['src/core/errors.ts', core.CORE_ERRORS],
    ['src/storage/errors.ts', storage.STORAGE_ERRORS],
    ['src/registry/errors.ts', registry.REGISTRY_ERRORS],
  ];
  for (const { dir, plugin } of plugins) {
    if (plugin.errors) sets.push([`${dir} (errors of plugin "${plugin.type}")`, plugin.errors]);
    else if (fs.existsSync(path.join(root, dir, 'errors.ts'))) {
      throw new Error(`${dir}/errors.ts exists but the plugin "${plugin.type}" does not declare \`errors\` in its definition`);
    }
  }
  const byCode = new Map<string, CatalogueEntry>();
  for (const [definedIn, set] of sets) {
    for (const [code, entry] of core.errorEntries(set)) {
      const other = byCode.get(code);
      if (other) throw new Error(`error code ${code} is defined twice: in ${other.definedIn} and in ${definedIn}`);
      byCode.set(code, { code, title: entry.title, hint: entry.hint, definedIn });
    }
  }
  return [...byCode.values()].sort((a, b) => a.code.localeCompare(b.code));
}

/** Every `TC_…` code written in a `.ts` file under `src/` (tests and testdata fixtures excluded), with where it is. */
export function codesInSource(root: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) {
        // Fixtures may spell out codes that no module defines on purpose (the conformance kit's broken plugin).
        if (entry.name !== 'testdata') walk(rel);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        const lines = fs.readFileSync(path.join(root, rel), 'utf8').split('\n');
        lines.forEach((line, i) => {
          for (const [code] of line.matchAll(CODE_IN_SOURCE)) found.set(code, [...(found.get(code) ?? []), `${rel}:${i + 1}`]);
        });
      }
    }
  };
  walk('src');
  return found;
}

/** Codes used in `src/` that the catalogue lacks, as `CODE (file:line, …)`; empty when all are listed. */
export function uncataloguedCodes(root: string, catalogue: readonly CatalogueEntry[]): string[] {
  const listed = new Set(catalogue.map((e) => e.code));
  return [...codesInSource(root)].filter(([code]) => !listed.has(code)).map(([code, where]) => `${code} (${where.join(', ')})`);
}
