import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../core/runtime/logger.js';
import { CORE_ERRORS, ThermoclineError } from '../core/errors.js';
import {
  type StoredSchema,
  SchemaError,
  compileSchema,
  describeIncompatibility,
  getSchema,
  incompatibilities,
  listSchemas,
  registerSchema,
  topLevelProperties,
} from '../registry/index.js';
import { connectPostgres, type PostgresConnection } from '../storage/index.js';
import type { Subcommand } from './commands.js';
import { EXIT_CONFIG, EXIT_FAILURE, loadOrExplain, printError } from './config.js';

/**
 * `thermocline schemas register|list|show|diff|check` (docs/events.md#the-command-line): the schema
 * registry in the database of `--pg URL`, or of the postgres sink of `-c FILE` (`--sink ID` when
 * there are several). `check` works offline, and also against the registry when one is given.
 */
const USAGE = `schemas register FILE [--type T] [--force] | list [TYPE] | show TYPE [--version V] | diff TYPE FILE | check FILE [--type T]
                                           [--pg URL | -c FILE [--sink ID]]`;

interface Target {
  connection: PostgresConnection;
}

async function openRegistry(values: { pg?: string; config?: string; sink?: string }): Promise<Target | number> {
  let url = values.pg;
  let dataDir = path.resolve('data');
  if (url === undefined && values.config !== undefined) {
    const config = await loadOrExplain(values.config);
    if (!config) return EXIT_CONFIG;
    dataDir = config.dataDir;
    const sinks = config.components.filter((c) => c.kind === 'sink' && c.type === 'postgres' && (values.sink === undefined || c.id === values.sink));
    if (sinks.length !== 1) {
      console.error(`error: ${sinks.length === 0 ? 'no postgres sink' : 'several postgres sinks'} in ${values.config}${values.sink ? ` named "${values.sink}"` : ''}: name one with --sink ID, or give --pg URL`);
      return EXIT_CONFIG;
    }
    url = String(sinks[0]?.options.url);
  }
  if (url === undefined) {
    console.error('error: give the registry database with --pg URL or -c FILE');
    return EXIT_CONFIG;
  }
  const logger = createLogger({ level: 'warn', destination: process.stderr });
  return { connection: await connectPostgres(url, { dataDir, logger }) };
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new SchemaError('TC_SCHEMA_FILE', `cannot read ${file} as JSON: ${(err as Error).message}`);
  }
}

const typeOf = (file: string, given: string | undefined) => given ?? path.basename(file).replace(/\.json$/, '');

function row(s: StoredSchema): string {
  const ext = s.schema['x-thermocline'] as { table?: string } | undefined;
  return `${s.type.padEnd(32)} ${s.version.padEnd(8)} ${s.registeredAt}  ${ext?.table ?? 'events_generic'}  ${s.registeredBy}`;
}

/** Fields added between two versions (compatible changes), for `diff`. */
function added(previous: Record<string, unknown>, next: Record<string, unknown>): string[] {
  const before = new Set(topLevelProperties(previous));
  return topLevelProperties(next)
    .filter((p) => !before.has(p))
    .map((p) => `field "${p}" was added`);
}

export const schemasCommand: Subcommand = {
  name: 'schemas',
  usage: USAGE,
  summary: 'register, list, show, compare and check business event schemas',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        pg: { type: 'string' },
        config: { type: 'string', short: 'c' },
        sink: { type: 'string' },
        type: { type: 'string' },
        version: { type: 'string' },
        force: { type: 'boolean' },
      },
      strict: true,
    });
    const [action, ...rest] = positionals;
    const needs = (n: number) => {
      if (rest.length < n) throw new ThermoclineError(CORE_ERRORS.TC_CONFIG_INVALID, `usage: thermocline ${USAGE}`);
    };
    let target: Target | undefined;
    const registry = async () => {
      const opened = await openRegistry(values);
      if (typeof opened === 'number') throw Object.assign(new Error(''), { exitCode: opened });
      target = opened;
      return opened.connection.pool;
    };
    try {
      switch (action) {
        case 'register': {
          needs(1);
          const file = rest[0] as string;
          const type = typeOf(file, values.type);
          const schema = await readJson(file);
          const pool = await registry();
          const client = await pool.connect();
          try {
            const result = await registerSchema(client, type, schema, { force: values.force ?? false, by: `cli:${file}` });
            if (result.unchanged) console.log(`${type} ${result.stored.version}: unchanged`);
            else console.log(`${type} ${result.stored.version}: registered${result.forced.length > 0 ? ` (forced: ${result.forced.join('; ')})` : ''}`);
          } finally {
            client.release();
          }
          return 0;
        }
        case 'list': {
          const rows = await listSchemas(await registry(), rest[0]);
          console.log(`${'TYPE'.padEnd(32)} ${'VERSION'.padEnd(8)} REGISTERED                TABLE  BY`);
          for (const s of rows) console.log(row(s));
          return 0;
        }
        case 'show': {
          needs(1);
          const s = await getSchema(await registry(), rest[0] as string, values.version);
          console.log(JSON.stringify({ type: s.type, version: s.version, registered_at: s.registeredAt, registered_by: s.registeredBy, schema: s.schema }, null, 2));
          return 0;
        }
        case 'diff': {
          needs(2);
          const latest = await getSchema(await registry(), rest[0] as string, values.version);
          const next = (await readJson(rest[1] as string)) as Record<string, unknown>;
          const problems = incompatibilities(latest.schema, next).map(describeIncompatibility);
          for (const line of added(latest.schema, next)) console.log(`+ ${line}`);
          for (const line of problems) console.log(`! ${line}`);
          if (problems.length === 0) console.log(`compatible with ${latest.type} ${latest.version}`);
          else console.log(`not compatible with ${latest.type} ${latest.version}: registering needs --force (a new major version)`);
          return problems.length === 0 ? 0 : EXIT_FAILURE;
        }
        case 'check': {
          needs(1);
          const file = rest[0] as string;
          const type = typeOf(file, values.type);
          const schema = await readJson(file);
          const compiled = compileSchema(type, { major: 1, minor: 0 }, schema);
          console.log(`${type}: valid JSON Schema 2020-12${compiled.storage.table ? `, table ${compiled.storage.table} (${compiled.storage.store})` : ''}`);
          if (values.pg === undefined && values.config === undefined) return 0;
          const latest = await getSchema(await registry(), type).catch((err: unknown) => {
            if (err instanceof SchemaError && err.code === 'TC_SCHEMA_NOT_FOUND') return undefined;
            throw err;
          });
          if (latest === undefined) {
            console.log(`${type}: not registered yet; it would become version 1.0`);
            return 0;
          }
          const problems = incompatibilities(latest.schema, schema as Record<string, unknown>).map(describeIncompatibility);
          for (const line of problems) console.log(`! ${line}`);
          console.log(problems.length === 0 ? `${type}: compatible with ${latest.version}` : `${type}: not compatible with ${latest.version}`);
          return problems.length === 0 ? 0 : EXIT_FAILURE;
        }
        default:
          console.error(`usage: thermocline ${USAGE}`);
          return EXIT_CONFIG;
      }
    } catch (err) {
      const exitCode = (err as { exitCode?: number }).exitCode;
      if (exitCode !== undefined) return exitCode;
      printError(err);
      return EXIT_FAILURE;
    } finally {
      await target?.connection.release();
    }
  },
};
