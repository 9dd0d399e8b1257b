/**
 * `withTimescaleDb(t)`: a fresh database on a real TimescaleDB, the PostgreSQL 15 of the machine
 * with the extension that `../shared/timescaledb/install.sh` installs (`.ci/run` runs it;
 * THERMOCLINE_PG15_BIN names another bin directory). One throwaway cluster per test process:
 * initdb and pg_ctl as the `postgres` user when running as root (PostgreSQL refuses root), on
 * 127.0.0.1 and a free port, `shared_preload_libraries = timescaledb`, fsync off, removed when the
 * test file ends (tap is loaded only then, as for the other engines). `timescaleDbMissing()` says
 * why it cannot run, for `t.skip`-ing on a machine without the install. The cluster's job
 * scheduler runs, as on a server: a test that needs a policy to wait pauses its job (`alter_job`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePorts } from '../core/net.js';
import { atEndOfFile } from './end-of-file.js';
import type { TestContext } from './pipeline.js';

const BIN = process.env.THERMOCLINE_PG15_BIN ?? '/usr/lib/postgresql/15/bin';
const LIB = path.join(path.dirname(BIN), 'lib');

export function timescaleDbMissing(): string | undefined {
  if (!fs.existsSync(path.join(BIN, 'pg_ctl'))) return `no PostgreSQL 15 in ${BIN}: run ../shared/timescaledb/install.sh`;
  if (!fs.existsSync(path.join(LIB, 'timescaledb.so'))) return `no TimescaleDB in ${LIB}: run ../shared/timescaledb/install.sh`;
  return undefined;
}

interface Cluster {
  readonly adminUrl: string;
}

let cluster: Promise<Cluster> | undefined;

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
function runAs(bin: string, args: string[], owner: { uid: number; gid: number } | undefined): void {
  const r = spawnSync(path.join(BIN, bin), args, { encoding: 'utf8', ...(owner ?? {}), env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
}

async function startCluster(): Promise<Cluster> {
  const missing = timescaleDbMissing();
  if (missing !== undefined) throw new Error(missing);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-tsdb-'));
  let owner: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    owner = { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) };
    fs.chownSync(dir, owner.uid, owner.gid);
  }
  const data = path.join(dir, 'data');
  await atEndOfFile(() => {
    try {
      if (fs.existsSync(path.join(data, 'postmaster.pid'))) runAs('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], owner);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  runAs('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], owner);
  const log = path.join(dir, 'server.log');
  // A free port can be taken by another test's server between the pick and the bind: then the
  // server exits at once, and another port is tried.
  for (let attempt = 1; ; attempt++) {
    const [port] = await freePorts(1);
    const options = [
      `-c port=${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      '-c shared_preload_libraries=timescaledb',
      '-c timescaledb.telemetry_level=off',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ');
    fs.rmSync(log, { force: true });
    try {
      runAs('pg_ctl', ['-D', data, '-o', options, '-l', log, '-w', '-t', '60', 'start'], owner);
      return { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres` };
    } catch (err) {
      const server = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '(no server log)';
      if (attempt < 3 && /could not bind|address already in use/i.test(server)) continue;
      // The directory goes at the end of the run: say here what the server said.
      const hint = /undefined symbol/.test(server)
        ? '\nthe PostgreSQL 15 server is older than the one TimescaleDB was built for (shared/timescaledb/README.md): upgrade it (apt-get install postgresql-15), as .ci/run does'
        : '';
      throw new Error(`${(err as Error).message}\nserver log:\n${server.split('\n').slice(-30).join('\n')}${hint}`, { cause: err });
    }
  }
}

export interface TestTimescaleDb {
  readonly url: string;
  readonly pool: pg.Pool;
}

export async function withTimescaleDb(test: TestContext): Promise<TestTimescaleDb> {
  cluster ??= startCluster();
  const { adminUrl } = await cluster;
  const database = `tc_tsdb_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  const pool = new pg.Pool({ connectionString: u.toString(), max: 8 });
  pool.on('error', () => undefined);
  test.teardown(() => pool.end());
  return { url: u.toString(), pool };
}
