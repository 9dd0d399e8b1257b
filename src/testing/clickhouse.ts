/**
 * `withClickHouse()`: a `@clickhouse/client` client and a fresh database name per call (tables must
 * be qualified with it: the embedded engine ignores a client-level database). The engine behind
 * it, one per test process:
 *   - CH_URL set: that server (http(s)://user:pass@host:8123);
 *   - THERMOCLINE_TESTCONTAINERS=1: a clickhouse/clickhouse-server container with a local
 *     hot_warm_cold storage policy (STORAGE_LOCAL_XML below);
 *   - otherwise: chdb on a temp dir. libchdb binds one directory per process, so every call in a
 *     test file shares it; tap runs files in separate processes, so files do not collide.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { atEndOfFile } from './end-of-file.js';
import { type ClickHouseConnection, connectClickHouse } from '../storage/clickhouse/connect.js';
import { serverHasTieredPolicy } from '../storage/clickhouse/storage-policy.js';

/** THERMOCLINE_TESTCONTAINERS=1 needs a Docker engine; testcontainers is loaded only then. */
const CLICKHOUSE_IMAGE = process.env.THERMOCLINE_CLICKHOUSE_IMAGE ?? 'clickhouse/clickhouse-server:latest';

/**
 * The hot_warm_cold policy of config/clickhouse/storage.xml with local disks standing in for S3,
 * so TTL moves to 'warm' and 'cold' run without object storage.
 */
const STORAGE_LOCAL_XML = `<clickhouse>
  <storage_configuration>
    <disks>
      <hot><type>local</type><path>/var/lib/clickhouse/hot/</path></hot>
      <warm><type>local</type><path>/var/lib/clickhouse/warm/</path></warm>
      <cold><type>local</type><path>/var/lib/clickhouse/cold/</path></cold>
    </disks>
    <policies>
      <hot_warm_cold>
        <volumes>
          <hot><disk>hot</disk></hot>
          <warm><disk>warm</disk></warm>
          <cold><disk>cold</disk></cold>
        </volumes>
        <move_factor>0.2</move_factor>
      </hot_warm_cold>
    </policies>
  </storage_configuration>
</clickhouse>
`;

export type ClickHouseMode = 'url' | 'testcontainers' | 'embedded';

export interface TestClickHouse {
  /** Shared by every call in this process: do not close it. */
  readonly client: ClickHouseClient;
  /** A fresh database, already created. */
  readonly database: string;
  readonly mode: ClickHouseMode;
  /** Whether the engine has the hot_warm_cold storage policy (never on chdb). */
  readonly tieredStorage: boolean;
  /** Drops the database. Also registered as a teardown when a test is passed. */
  cleanup(): Promise<void>;
}

interface Engine {
  readonly connection: ClickHouseConnection;
  readonly mode: ClickHouseMode;
  readonly tieredStorage: boolean;
}

let engine: Promise<Engine> | undefined;

/** A ClickHouse server with a local hot_warm_cold policy, so TTL moves can run without S3. */
async function startClickHouseServer(): Promise<{ url: string; stop(): Promise<unknown> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const password = 'thermocline';
  const configDir = await mkdtemp(path.join(os.tmpdir(), 'thermocline-ch-config-'));
  const storageXml = path.join(configDir, 'storage.xml');
  await writeFile(storageXml, STORAGE_LOCAL_XML);
  const container = await new GenericContainer(CLICKHOUSE_IMAGE)
    .withEnvironment({ CLICKHOUSE_USER: 'thermocline', CLICKHOUSE_PASSWORD: password, CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT: '1' })
    .withExposedPorts(8123)
    .withCopyFilesToContainer([{ source: storageXml, target: '/etc/clickhouse-server/config.d/storage.xml' }])
    .withWaitStrategy(Wait.forHttp('/ping', 8123))
    .withStartupTimeout(180_000)
    .start()
    .finally(() => rm(configDir, { recursive: true, force: true }));
  return {
    url: `http://thermocline:${password}@${container.getHost()}:${container.getMappedPort(8123)}`,
    stop: () => container.stop(),
  };
}

async function openEngine(): Promise<Engine> {
  const mode: ClickHouseMode = process.env.CH_URL ? 'url' : process.env.THERMOCLINE_TESTCONTAINERS === '1' ? 'testcontainers' : 'embedded';
  let url: string;
  let dataDir = os.tmpdir();
  let stopServer = async (): Promise<unknown> => undefined;
  if (mode === 'url') {
    url = process.env.CH_URL ?? '';
  } else if (mode === 'testcontainers') {
    const container = await startClickHouseServer();
    stopServer = () => container.stop();
    url = container.url;
  } else {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'thermocline-chdb-test-'));
    dataDir = tmp;
    stopServer = () => rm(tmp, { recursive: true, force: true });
    url = `chdb://${tmp}`;
  }
  const connection = await connectClickHouse(url, { dataDir });
  // One teardown, so the order is explicit: close the client, then stop/remove what is behind it.
  await atEndOfFile(async () => {
    await connection.release();
    await stopServer();
  });
  return { connection, mode, tieredStorage: await serverHasTieredPolicy(connection.client) };
}

export async function withClickHouse(test?: { teardown(fn: () => unknown): void }): Promise<TestClickHouse> {
  engine ??= openEngine();
  const { connection, mode, tieredStorage } = await engine;
  const database = `tc_test_${randomBytes(6).toString('hex')}`;
  await connection.client.command({ query: `CREATE DATABASE ${database}` });
  let done: Promise<void> | undefined;
  const cleanup = () => (done ??= connection.client.command({ query: `DROP DATABASE IF EXISTS ${database} SYNC` }).then(() => undefined));
  test?.teardown(cleanup);
  return { client: connection.client, database, mode, tieredStorage, cleanup };
}
