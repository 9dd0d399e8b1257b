/**
 * An agent killed with SIGKILL leaves its embedded PostgreSQL running (no exit hook runs). The
 * next start must stop that orphan and take over the cluster, with the data committed before the
 * kill intact; a postmaster that a live process still owns must be left alone and named.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { connectPostgres } from '../../src/storage/postgres/connect.js';
import { childEnv, exited, repoRoot } from '../helpers/agent-process.js';
import { eventually } from '../helpers/pipeline.js';

function owner(dataDir: string) {
  const script = `
    import { connectPostgres } from ${JSON.stringify(path.join(repoRoot, 'src/storage/postgres/connect.ts'))};
    const pg = await connectPostgres('embedded', { dataDir: ${JSON.stringify(dataDir)} });
    await pg.pool.query("CREATE TABLE IF NOT EXISTS kept (v text)");
    await pg.pool.query("INSERT INTO kept VALUES ('committed before the kill')");
    console.log('ready');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return Object.assign(child, { output: () => out });
}

const postmasterPid = (dataDir: string) => Number(fs.readFileSync(path.join(dataDir, 'postgres/pgdata/postmaster.pid'), 'utf8').split('\n')[0]);
const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));

t.test('the embedded PostgreSQL of a SIGKILLed agent is stopped and taken over at the next start', async (t) => {
  if (!fs.existsSync('/proc/self/stat')) return void t.pass('skipped: needs /proc');
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'thermocline-orphan-'));
  fs.chmodSync(parent, 0o711); // as root the server runs as "postgres", which must reach data/
  t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
  const dataDir = path.join(parent, 'data');

  const first = owner(dataDir);
  t.teardown(() => first.kill('SIGKILL'));
  await eventually(() => /ready/.test(first.output()) || first.exitCode !== null, 120_000, 'the first owner to start PostgreSQL');
  const orphan = postmasterPid(dataDir);
  t.teardown(() => alive(orphan) && process.kill(orphan, 'SIGKILL'));

  // While its owner lives, the server is not taken.
  await t.rejects(connectPostgres('embedded', { dataDir }), { code: 'TC_PG_EMBEDDED_START_FAILED', message: /already running for another process \(postmaster pid \d+, started by pid \d+/ });
  t.ok(alive(orphan), 'the live owner keeps its server');

  first.kill('SIGKILL');
  await exited(first);
  t.ok(alive(orphan), 'the postmaster outlived its SIGKILLed owner');

  const warnings: string[] = [];
  const logger = { info: () => undefined, debug: () => undefined, error: () => undefined, warn: (_o: object, msg: string) => void warnings.push(msg) };
  const pg = await connectPostgres('embedded', { dataDir, logger });
  t.teardown(() => pg.release());
  t.notOk(alive(orphan), 'the orphan was stopped');
  t.ok(warnings.some((w) => /left running by an agent that was killed/.test(w)), 'and that was logged');
  t.same((await pg.pool.query('SELECT v FROM kept')).rows, [{ v: 'committed before the kill' }], 'committed data survived');
});
