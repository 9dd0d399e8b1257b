import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runMigrateCommand } from '../../src/storage/migrate/command.js';
import { silentLogger } from '../../src/storage/logger.js';
import { withPostgres } from '../helpers/postgres.js';

function capture() {
  let text = '';
  return { out: { write: (s: string) => (text += s) }, text: () => text };
}

t.test('needs a target', async (t) => {
  await t.rejects(runMigrateCommand({ dryRun: false, dataDir: os.tmpdir(), logger: silentLogger }), { code: 'TC_MIGRATE_NO_TARGET' });
});

t.test('dry run prints the plan, the real run applies it, the next one has nothing to do', async (t) => {
  const db = await withPostgres(t);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'thermocline-cmd-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const options = { pg: db.url, clickhouse: 'chdb://clickhouse?database=obs', dataDir, logger: silentLogger };

  const plan = capture();
  const planned = await runMigrateCommand({ ...options, dryRun: true, out: plan.out });
  t.match(plan.text(), /^postgres postgres:\/\/\S+\/tc_test_\w+ \(flavour (plain|timescaledb)\)\n {2}plan \(dry run, nothing changed\): \d+ step\(s\)\n {2}migrate {2}0001_extensions/);
  t.match(plan.text(), /\nclickhouse chdb:\/\/clickhouse\?database=obs \(database obs, storage policy default\)\n {2}plan \(dry run, nothing changed\): 8 step\(s\)\n {2}migrate {2}0001_logs_events\.sql\n/);
  const password = decodeURIComponent(new URL(db.url).password);
  if (password !== '') t.notOk(plan.text().includes(password), 'the password is not printed');
  t.equal(planned.postgres?.dryRun, true);
  const { rows } = await db.pool.query(`SELECT to_regclass('schema_migrations') IS NULL AS untouched`);
  t.same(rows, [{ untouched: true }]);

  const run = capture();
  const applied = await runMigrateCommand({ ...options, dryRun: false, out: run.out });
  t.match(run.text(), /applied \d+ step\(s\)[\s\S]*repeat {3}ttl metrics_1m\n/);
  t.equal(applied.clickhouse?.steps.length, 8);

  const again = capture();
  await runMigrateCommand({ ...options, dryRun: false, out: again.out });
  t.match(again.text(), /^postgres .*\n {2}up to date, nothing to do\nclickhouse .*\n {2}up to date, nothing to do\n$/);
});

t.test('`--pg embedded` starts the embedded server under data_dir and stops it again', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'thermocline-cmd-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const run = capture();
  const result = await runMigrateCommand({ pg: 'embedded', dryRun: false, dataDir, logger: silentLogger, out: run.out });
  t.equal(result.postgres?.flavour, 'plain');
  t.match(run.text(), new RegExp(`^postgres embedded \\(${dataDir.replaceAll('/', '\\/')}\\/postgres, port \\d+\\) \\(flavour plain\\)`));
  t.notOk(existsSync(path.join(dataDir, 'postgres', 'pgdata', 'postmaster.pid')), 'the server was shut down cleanly');
  t.ok(existsSync(path.join(dataDir, 'postgres', 'pgdata', 'PG_VERSION')), 'its cluster stays for the next start');
});
