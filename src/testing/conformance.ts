/**
 * The plugin conformance kit: the contract every plugin keeps (docs/plugins.md#testing-a-plugin),
 * checked by one call from the plugin's own test. Each check is also a function returning the
 * problems it found (empty when the plugin conforms), for test runners other than tap.
 *
 *   - schema:     a summary, a `lower_snake_case` type, every table of the schema strict;
 *   - example:    the plugin's `example` options pass the schema and the plugin's `validate`;
 *   - lifecycle:  create → stop → stop (stop without start), create → start → stop → stop;
 *   - readme:     README.md's options table is the one generated from the schema;
 *   - errorCodes: every error code in the plugin's sources is in the catalogue (docs/errors.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { z } from 'zod';
import { isErrorCode } from '../core/errors.js';
import type { AnyPlugin } from '../core/plugin/types.js';
import { standaloneContext } from './context.js';
import { OPTIONS_TABLE_START, optionsTable, withOptionsTable } from './options-table.js';
import { tempDir } from './pipeline.js';

export type ConformanceCheck = 'schema' | 'example' | 'lifecycle' | 'readme' | 'errorCodes';

export interface ConformanceOptions {
  /**
   * The plugin's folder, e.g. `new URL('.', import.meta.url)`: its README.md is checked, and its
   * sources are searched for error codes. Without it, `readme` and `errorCodes` are skipped.
   */
  folder?: string | URL;
  /** Options to create the plugin with. Default: its `example`, listen addresses moved to port 0. */
  options?: Record<string, unknown>;
  /** Codes the plugin throws that its sources do not spell out as `TC_…` literals. */
  errorCodes?: string[];
  /** The data directory handed to the plugin. Default: a temporary one, removed at teardown. */
  dataDir?: string;
  /** Checks to leave out, each with the reason; the reason is printed with the results. */
  skip?: Partial<Record<ConformanceCheck, string>>;
}

/**
 * Runs every check of the kit on `plugin`, one tap subtest each (under another runner, call the
 * `…Problems` functions below and assert that each returns an empty list).
 */
export async function runConformance(t: Test, plugin: AnyPlugin, options: ConformanceOptions = {}): Promise<void> {
  const folder = options.folder === undefined ? undefined : options.folder instanceof URL ? fileURLToPath(options.folder) : options.folder;
  const createWith = options.options ?? exampleOptions(plugin);
  const skip: Partial<Record<ConformanceCheck, string>> = { ...options.skip };
  if (!folder) skip.readme ??= 'no plugin folder given';
  if (!folder && !options.errorCodes) skip.errorCodes ??= 'no plugin folder or error codes given';
  const checks: Record<ConformanceCheck, (t: Test) => string[] | Promise<string[]>> = {
    schema: () => schemaProblems(plugin),
    example: () => exampleProblems(plugin, createWith),
    lifecycle: (t) => lifecycleProblems(plugin, createWith, options.dataDir ?? tempDir(t, `thermocline-${plugin.type}-`)),
    readme: () => readmeProblems(plugin, path.join(folder ?? '', 'README.md')),
    errorCodes: () => uncataloguedErrorCodes(folder ?? '', options.errorCodes),
  };
  for (const [name, check] of Object.entries(checks) as Array<[ConformanceCheck, (typeof checks)[ConformanceCheck]]>) {
    const reason = skip[name];
    if (reason !== undefined) {
      t.comment(`conformance ${plugin.kind} ${plugin.type}: ${name} skipped: ${reason}`);
      continue;
    }
    await t.test(`conformance ${plugin.kind} ${plugin.type}: ${name}`, async (t) => {
      t.same(await check(t), [], `${name}: no problems`);
    });
  }
}

/** The plugin's `example`, with listen addresses on port 0 so a test never collides with an agent. */
export function exampleOptions(plugin: AnyPlugin): Record<string, unknown> {
  const example: Record<string, unknown> = { ...(plugin.example ?? {}) };
  for (const [k, v] of Object.entries(example)) {
    if (typeof v === 'string' && /^(127\.0\.0\.1|localhost|0\.0\.0\.0):\d+$/.test(v) && /address|listen/.test(k)) example[k] = v.replace(/:\d+$/, ':0');
  }
  return example;
}

/** A summary, a `lower_snake_case` type, and no table of the schema that accepts unknown keys. */
export function schemaProblems(plugin: AnyPlugin): string[] {
  const problems: string[] = [];
  if (!/\S/.test(plugin.summary ?? '')) problems.push('the plugin has no summary');
  if (!/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(plugin.type)) problems.push(`type "${plugin.type}" is not lower_snake_case`);
  for (const loose of looseTables(plugin.config)) problems.push(`table ${loose} of the schema accepts unknown keys (use z.strictObject)`);
  return problems;
}

function looseTables(schema: z.ZodType): string[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const loose: string[] = [];
  const walk = (node: unknown, at: string) => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.type === 'object' && n.properties && n.additionalProperties !== false) loose.push(at || '(root)');
    for (const [k, v] of Object.entries(n)) walk(v, k === 'properties' || k === 'anyOf' || k === 'oneOf' || k === 'items' ? at : at ? `${at}.${k}` : k);
  };
  walk(json, '');
  return loose;
}

/** `options` pass the schema and the plugin's own `validate`. */
export function exampleProblems(plugin: AnyPlugin, options: Record<string, unknown> = exampleOptions(plugin)): string[] {
  const parsed = plugin.config.safeParse(options);
  if (!parsed.success) return parsed.error.issues.map((i) => `example: ${i.path.join('.') || '(root)'}: ${i.message}`);
  return (plugin.validate?.(parsed.data as never) ?? []).map((i) => `example: ${i.path.join('.')}: ${i.message}`);
}

/**
 * The lifecycle contract (docs/plugins.md#lifecycle): `stop()` is safe without `start()` and safe
 * twice. A throw at any step is reported as a problem naming the step.
 */
export async function lifecycleProblems(plugin: AnyPlugin, options: Record<string, unknown>, dataDir: string): Promise<string[]> {
  const parsed = plugin.config.safeParse(options);
  if (!parsed.success) return ['the options do not pass the schema (see the example check)'];
  const problems: string[] = [];
  const step = async (what: string, fn: () => unknown) => {
    try {
      await fn();
      return true;
    } catch (err) {
      problems.push(`${what} threw: ${(err as Error).message}`);
      return false;
    }
  };
  const create = (id: string) =>
    plugin.create(parsed.data as never, standaloneContext(plugin.kind, id, plugin.type, dataDir).ctx as never) as { start?(): unknown; stop?(): unknown };
  let unstarted: ReturnType<typeof create> | undefined;
  if (await step('create', () => (unstarted = create(`${plugin.type}_unstarted`)))) {
    if ((await step('stop without start', () => unstarted?.stop?.())) === true) await step('a second stop without start', () => unstarted?.stop?.());
  }
  let instance: ReturnType<typeof create> | undefined;
  if (!(await step('create', () => (instance = create(plugin.type))))) return problems;
  if (!(await step('start', () => instance?.start?.()))) {
    await step('stop after a failed start', () => instance?.stop?.());
    return problems;
  }
  if (await step('stop', () => instance?.stop?.())) await step('a second stop', () => instance?.stop?.());
  return problems;
}

/** README.md has the options markers, and the table between them is the one the schema generates. */
export function readmeProblems(plugin: AnyPlugin, readme: string): string[] {
  if (!fs.existsSync(readme)) return [`${readme} does not exist`];
  const text = fs.readFileSync(readme, 'utf8');
  if (!text.includes(OPTIONS_TABLE_START)) return [`${readme} has no "${OPTIONS_TABLE_START}" … "<!-- options:end -->" section`];
  return withOptionsTable(text, optionsTable(plugin.config)) === text ? [] : [`the options table in ${readme} is stale: run \`npm run generate\``];
}

/**
 * Error codes that are not in the catalogue behind docs/errors.md: those the plugin's sources
 * spell out (`TC_…` literals in its folder, tests and testdata left out) and those in `declared`.
 * The catalogue is what the modules imported so far defined with `defineErrorCodes`: the
 * plugin's own modules are.
 */
export function uncataloguedErrorCodes(folder: string, declared: string[] = []): string[] {
  const found = new Set(declared);
  for (const file of sourceFiles(folder)) {
    // A `startsWith` on a code prefix matches a family of codes: a prefix, not a code.
    const text = fs.readFileSync(file, 'utf8').replace(/startsWith\(\s*['"`]TC_[A-Z0-9_]+['"`]\s*\)/g, '');
    for (const [code] of text.matchAll(/\bTC_[A-Z0-9_]+\b/g)) found.add(code);
  }
  return [...found].filter((code) => !isErrorCode(code)).sort();
}

function sourceFiles(dir: string): string[] {
  if (!dir || !fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testdata' || e.name === 'node_modules' ? [] : sourceFiles(full);
    return /\.(ts|js|mjs|cjs)$/.test(e.name) && !/\.test\.[cm]?[jt]s$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}
