import fs from 'node:fs';
import path from 'node:path';
import toml from 'toml';
import { z } from 'zod';
import { ConfigError, CORE_ERRORS, type ConfigErrorCode, type ConfigIssue } from '../errors.js';
import { loadCustomPlugins } from '../plugin/load.js';
import type { PluginRegistry } from '../plugin/registry.js';
import type { AnyPlugin, ComponentKind } from '../plugin/types.js';
import { checkTopology, parseRef, Topology, type GraphNode, type OutputRef } from '../topology/graph.js';
import { interpolateValues, markBareReferences } from './interpolate.js';
import { formatPath, zodIssues } from './issues.js';
import { KeyLocator } from './locate.js';
import {
  COMPONENT_ID,
  sinkCommonShape,
  sourceCommonShape,
  taskCommonShape,
  topLevelSchema,
  transformCommonShape,
  type BatchConfig,
  type BufferConfig,
  type RetryConfig,
  type TopLevelConfig,
} from './schema.js';

export interface SinkSettings {
  buffer: BufferConfig;
  batch: BatchConfig;
  retry: RetryConfig;
  healthcheck: { enabled: boolean };
}

export interface ComponentSpec {
  id: string;
  kind: ComponentKind;
  type: string;
  plugin: AnyPlugin;
  /** The plugin's own options, parsed by its schema (runtime keys removed). */
  options: Readonly<Record<string, unknown>>;
  inputs: OutputRef[];
  /** Present for sinks. */
  sink?: SinkSettings;
  /** Present for tasks. */
  task?: { healthcheck: { enabled: boolean } };
  /** Stable text of the component's table, to tell on reload whether it changed. */
  fingerprint: string;
}

export interface LoadedConfig {
  file: string | undefined;
  /** Absolute `data_dir`. */
  dataDir: string;
  api: TopLevelConfig['api'];
  log: TopLevelConfig['log'];
  queue: TopLevelConfig['queue'];
  shutdown: TopLevelConfig['shutdown'];
  memory: TopLevelConfig['memory'];
  components: ComponentSpec[];
  topology: Topology;
  warnings: string[];
  /** Secret values from the environment, to redact from logs. */
  secrets: string[];
  registry: PluginRegistry;
  /** Components whose type only a custom plugin could check, left unchecked with `plugins: 'skip'`. */
  unchecked: Array<{ path: string; type: string }>;
}

export interface LoadOptions {
  registry: PluginRegistry;
  env?: NodeJS.ProcessEnv;
  /** Where relative plugin paths resolve (default: the config file's directory or cwd). */
  baseDir?: string;
  file?: string;
  /**
   * `'skip'` does not import `[plugins] load` (their code would run): components of types no
   * built-in provides are then listed in `unchecked` instead of being errors (`validate --no-plugins`).
   */
  plugins?: 'load' | 'skip';
}

const KINDS: ComponentKind[] = ['source', 'transform', 'sink', 'task'];
const COMMON: Record<ComponentKind, Record<string, z.ZodType>> = {
  source: sourceCommonShape,
  transform: transformCommonShape,
  sink: sinkCommonShape,
  task: taskCommonShape,
};

export async function loadConfigFile(file: string, options: Omit<LoadOptions, 'file'>): Promise<LoadedConfig> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(CORE_ERRORS.TC_CONFIG_READ, [{ path: '', code: CORE_ERRORS.TC_CONFIG_READ, message: `cannot read config file: ${(err as Error).message}` }], file);
  }
  return parseConfig(text, { ...options, file, baseDir: options.baseDir ?? path.dirname(path.resolve(file)) });
}

/** Parse and validate a config text; every problem is reported in one ConfigError. */
export async function parseConfig(source: string, options: LoadOptions): Promise<LoadedConfig> {
  const { file } = options;
  const registry = options.registry.clone();
  const marked = markBareReferences(source);
  const locator = new KeyLocator(marked.text);
  const { value: raw, issues: envIssues, secrets } = interpolateValues(parseToml(marked.text, file), marked, options.env, (p) => locator.lineOf(p));
  const issues: ConfigIssue[] = [...envIssues];

  const top = topLevelSchema.safeParse(raw, { reportInput: true });
  if (!top.success) issues.push(...zodIssues(top.error, [], locator, (p) => (p.length === 0 ? Object.keys(topLevelSchema.shape) : undefined)));
  // With schema errors at the top, the sections that are valid on their own are still checked,
  // so that one pass reports every problem (docs/ARCHITECTURE.md#configuration).
  const cfg = top.success ? top.data : validSections(raw);
  const skipPlugins = options.plugins === 'skip' && cfg.plugins.load.length > 0;
  if (!skipPlugins) issues.push(...(await loadCustomPlugins(cfg.plugins.load, options.baseDir ?? process.cwd(), registry)));
  const unchecked: LoadedConfig['unchecked'] = [];

  const components: ComponentSpec[] = [];
  // Components that failed validation stay in the graph as opaque nodes, so that their
  // consumers are not also reported for an "unknown input".
  const invalid: GraphNode[] = [];
  const seen = new Map<string, ComponentKind>();
  for (const kind of KINDS) {
    const tables = cfg[`${kind}s`];
    for (const [id, table] of Object.entries(tables)) {
      const prefix = [`${kind}s`, id];
      const where = formatPath(prefix);
      if (!COMPONENT_ID.test(id)) {
        issues.push({ path: where, code: CORE_ERRORS.TC_CONFIG_INVALID, line: locator.lineOf(prefix), message: 'component ids may contain only letters, digits, "_" and "-"' });
        continue;
      }
      const other = seen.get(id);
      if (other) {
        issues.push({ path: where, code: CORE_ERRORS.TC_CONFIG_INVALID, line: locator.lineOf(prefix), message: `the id "${id}" is also used by a ${other}; ids must be unique across sources, transforms and sinks` });
        continue;
      }
      seen.set(id, kind);
      const notChecked = skipPlugins && typeof table.type === 'string' && !registry.get(kind, table.type);
      const spec = notChecked ? undefined : parseComponent(kind, id, table, registry, locator, issues);
      if (notChecked) unchecked.push({ path: where, type: table.type as string });
      if (spec) components.push(spec);
      else invalid.push({ id, kind, inputs: readableInputs(table), namedOutputs: [], dependsOn: [], invalid: true });
    }
  }

  const check = checkTopology(new Topology([...components.map(toNode), ...invalid]));
  const topology = new Topology(components.map(toNode));
  issues.push(...check.issues.map((i) => ({ ...i, line: i.line ?? locator.lineOf(i.path.split('.').map((p) => p.replace(/\[\d+\]$/, ''))) })));
  if (issues.length > 0) throw configError(issues, file);

  return deepFreeze({
    file,
    dataDir: path.resolve(cfg.data_dir),
    api: cfg.api,
    log: cfg.log,
    queue: cfg.queue,
    shutdown: cfg.shutdown,
    memory: cfg.memory,
    components,
    topology,
    warnings: check.warnings,
    secrets,
    registry,
    unchecked,
  });
}

function parseToml(text: string, file: string | undefined): unknown {
  try {
    return toml.parse(text);
  } catch (err) {
    const e = err as { message: string; line?: number; column?: number; location?: { start: { line: number; column: number } }; found?: string | null };
    const line = e.location?.start.line ?? e.line;
    const column = e.location?.start.column ?? e.column;
    const message = e.location
      ? `syntax error: unexpected ${e.found == null ? 'end of file' : e.found === '\n' ? 'end of line' : JSON.stringify(e.found)}`
      : e.message;
    throw new ConfigError(CORE_ERRORS.TC_CONFIG_SYNTAX, [{ path: '', code: CORE_ERRORS.TC_CONFIG_SYNTAX, line, column, message }], file);
  }
}

function parseComponent(kind: ComponentKind, id: string, table: Record<string, unknown>, registry: PluginRegistry, locator: KeyLocator, issues: ConfigIssue[]): ComponentSpec | undefined {
  const prefix = [`${kind}s`, id];
  const type = table.type;
  if (typeof type !== 'string') {
    issues.push({ path: formatPath([...prefix, 'type']), code: CORE_ERRORS.TC_CONFIG_INVALID, line: locator.lineOf(prefix), message: `is required: the ${kind} plugin type (one of ${registry.types(kind).join(', ')})` });
    return undefined;
  }
  const plugin = registry.get(kind, type);
  const renamed = plugin ? undefined : registry.all().find((p) => p.formerly?.some((f) => f.kind === kind && f.type === type));
  if (renamed) {
    issues.push({
      path: formatPath([...prefix, 'type']),
      line: locator.lineOf([...prefix, 'type']),
      code: CORE_ERRORS.TC_PLUGIN_RENAMED,
      message: `the ${kind} type "${type}" is now the ${renamed.kind} type "${renamed.type}": write [${renamed.kind}s.${id}] type = "${renamed.type}" instead of [${kind}s.${id}] type = "${type}"`,
    });
    return undefined;
  }
  if (!plugin) {
    issues.push({
      path: formatPath([...prefix, 'type']),
      line: locator.lineOf([...prefix, 'type']),
      code: CORE_ERRORS.TC_PLUGIN_UNKNOWN_TYPE,
      message: `unknown ${kind} type "${type}"; known ${kind} types: ${registry.types(kind).join(', ')}`,
    });
    return undefined;
  }
  const common = COMMON[kind];
  const schema = z.strictObject({ ...common, ...plugin.config.shape });
  const parsed = schema.safeParse(table, { reportInput: true });
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, prefix, locator, (p) => (p.length === 0 ? Object.keys(schema.shape) : undefined)));
    return undefined;
  }
  const all = parsed.data as Record<string, unknown>;
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all)) if (!(k in common)) options[k] = v;
  const before = issues.length;
  let found;
  try {
    found = plugin.validate?.(options as never) ?? [];
  } catch (err) {
    found = [{ path: [], message: `the plugin's validate() threw: ${(err as Error).message}` }];
  }
  for (const issue of found) {
    const p = [...prefix, ...issue.path];
    issues.push({ path: formatPath(p), code: CORE_ERRORS.TC_CONFIG_INVALID, line: locator.lineOf(p), message: issue.message });
  }
  if (issues.length > before) return undefined;
  const inputs = ((all.inputs as string[] | undefined) ?? []).map(parseRef);
  return {
    id,
    kind,
    type,
    plugin,
    options,
    inputs,
    sink: kind === 'sink' ? { buffer: all.buffer as BufferConfig, batch: all.batch as BatchConfig, retry: all.retry as RetryConfig, healthcheck: all.healthcheck as { enabled: boolean } } : undefined,
    task: kind === 'task' ? { healthcheck: all.healthcheck as { enabled: boolean } } : undefined,
    fingerprint: JSON.stringify(table),
  };
}

/** The `inputs` of a table that failed validation, as far as they read, so the topology checks them in the same pass. */
function readableInputs(table: Record<string, unknown>): OutputRef[] {
  const inputs = table.inputs;
  return Array.isArray(inputs) ? inputs.filter((i): i is string => typeof i === 'string' && i.length > 0).map(parseRef) : [];
}

function toNode(spec: ComponentSpec): GraphNode {
  const plugin = spec.plugin;
  return {
    id: spec.id,
    kind: spec.kind,
    inputs: spec.inputs,
    namedOutputs: plugin.kind === 'transform' ? (plugin.outputs?.(spec.options as never) ?? []) : [],
    // A component needing another's resource starts after it, like a declared dependency.
    dependsOn: [...new Set([...(plugin.uses?.(spec.options as never) ?? []).map((u) => u.from), ...(plugin.dependsOn?.(spec.options as never) ?? [])])],
  };
}

function configError(all: ConfigIssue[], file: string | undefined): ConfigError {
  const issues = withoutEnvEchoes(all);
  return new ConfigError(pickCode(issues), issues, file);
}

/** A missing variable also breaks the value it was in: report the cause, not the echo. */
function withoutEnvEchoes(issues: ConfigIssue[]): ConfigIssue[] {
  const isEnv = (i: ConfigIssue) => i.code === CORE_ERRORS.TC_CONFIG_ENV;
  const envLines = new Set(issues.filter(isEnv).map((i) => i.line));
  return issues.filter((i) => isEnv(i) || i.line === undefined || !envLines.has(i.line));
}

/** The error's code: the issues' own when they all share one, else the general TC_CONFIG_INVALID. */
function pickCode(issues: ConfigIssue[]): ConfigErrorCode {
  const codes = new Set(issues.map((i) => i.code));
  return codes.size === 1 ? (issues[0] as ConfigIssue).code : CORE_ERRORS.TC_CONFIG_INVALID;
}

/** Each top-level section parsed on its own; one that is invalid counts as absent (its problems are already reported). */
function validSections(raw: unknown): TopLevelConfig {
  const table = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(topLevelSchema.shape)) {
    const parsed = schema.safeParse(table[key]);
    out[key] = parsed.success ? parsed.data : schema.parse(undefined);
  }
  // In a component section, only the entries that are not tables are lost.
  for (const kind of KINDS) {
    const section = table[`${kind}s`];
    if (typeof section !== 'object' || section === null) continue;
    out[`${kind}s`] = Object.fromEntries(Object.entries(section).filter(([, v]) => typeof v === 'object' && v !== null && !Array.isArray(v)));
  }
  return out as TopLevelConfig;
}

/** Validated config is frozen (as Fastify freezes its config). Topology and registry are live objects and stay as they are. */
function deepFreeze<T extends LoadedConfig>(cfg: T): T {
  const freeze = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
    if (v instanceof Date) return;
    Object.freeze(v);
    for (const child of Object.values(v)) freeze(child);
  };
  for (const c of cfg.components) {
    freeze(c.options);
    freeze(c.sink);
    freeze(c.task);
    freeze(c.inputs);
  }
  freeze(cfg.api);
  freeze(cfg.log);
  freeze(cfg.queue);
  freeze(cfg.shutdown);
  freeze(cfg.memory);
  return cfg;
}
