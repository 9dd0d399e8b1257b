import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import t from 'tap';
import { packagedMigrationsDir } from '../../src/storage/migrate/files.js';
import { migratePostgres } from '../../src/storage/postgres/migrate.js';
import { withPostgres } from '../helpers/postgres.js';

/** What these helpers need of a tap test. */
type Teardown = { teardown(fn: () => unknown): void };

async function migrationsDir(t: Teardown, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'thermocline-migrations-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(files)) await writeFile(path.join(dir, name), sql);
  return dir;
}

async function history(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY version');
  return rows.map((r) => r.name);
}

async function exists(pool: pg.Pool, relation: string): Promise<boolean> {
  const { rows } = await pool.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [relation]);
  return rows[0]?.present === true;
}

t.test('a syntax error stops the run, names the file and line, and records nothing of it', async (t) => {
  const db = await withPostgres(t);
  const dir = await migrationsDir(t, {
    '0001_good.sql': 'CREATE TABLE good_one (id int);\n',
    '0002_bad.sql': '-- a comment\nCREATE TABLE half_done (id int);\nCREAT TABLE oops (id int);\n',
    '0003_never.sql': 'CREATE TABLE never_reached (id int);\n',
  });
  const err = await migratePostgres(db.pool, { dir }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.match(err, { code: 'TC_MIGRATION_FAILED', failure: { file: '0002_bad.sql', line: 3, serverCode: '42601' } });
  t.match(String((err as Error).message), /0002_bad\.sql line 3 failed: syntax error at or near "CREAT" \(SQLSTATE 42601\)/);
  t.same(await history(db.pool), ['0001_good.sql'], 'only the good file is recorded');
  t.equal(await exists(db.pool, 'half_done'), false, 'nothing of the failed file remains');
  t.equal(await exists(db.pool, 'never_reached'), false, 'the run stopped');

  await writeFile(path.join(dir, '0002_bad.sql'), 'CREATE TABLE half_done (id int);\n');
  const rerun = await migratePostgres(db.pool, { dir });
  t.same(rerun.steps.filter((s) => s.kind === 'migration').map((s) => s.name), ['0002_bad.sql', '0003_never.sql'], 'a rerun after the fix completes');
});

t.test('a runtime error rolls back the statements before it', async (t) => {
  const db = await withPostgres(t);
  const dir = await migrationsDir(t, { '0001_runtime.sql': 'CREATE TABLE before_error (id int);\nINSERT INTO no_such_table VALUES (1);\n' });
  await t.rejects(migratePostgres(db.pool, { dir }), { code: 'TC_MIGRATION_FAILED', failure: { file: '0001_runtime.sql', line: 2, serverCode: '42P01' } });
  t.equal(await exists(db.pool, 'before_error'), false);
  t.same(await history(db.pool), []);
});

t.test('an applied file edited afterwards is refused', async (t) => {
  const db = await withPostgres(t);
  const dir = await migrationsDir(t, { '0001_a.sql': 'CREATE TABLE a (id int);\n' });
  await migratePostgres(db.pool, { dir });
  await writeFile(path.join(dir, '0001_a.sql'), 'CREATE TABLE a (id bigint);\n');
  await t.rejects(migratePostgres(db.pool, { dir }), { code: 'TC_MIGRATION_CHECKSUM_MISMATCH', message: /0001_a\.sql/ });
  await t.rejects(migratePostgres(db.pool, { dir, dryRun: true }), { code: 'TC_MIGRATION_CHECKSUM_MISMATCH' }, 'dry run reports it too');
});

t.test('bad file names and unknown placeholders are rejected before anything runs', async (t) => {
  const db = await withPostgres(t);
  const misnamed = await migrationsDir(t, { '1_short.sql': 'SELECT 1;', '0001_x.sql': 'SELECT 1;' });
  await t.rejects(migratePostgres(db.pool, { dir: misnamed }), { code: 'TC_MIGRATION_FILES_INVALID', message: /1_short\.sql/ });
  const clash = await migrationsDir(t, { '0001_x.sql': 'SELECT 1;', '0001_x.plain.sql': 'SELECT 1;' });
  await t.rejects(migratePostgres(db.pool, { dir: clash }), { code: 'TC_MIGRATION_FILES_INVALID', message: /conflicting/ });
  const typo = await migrationsDir(t, { '0001_x.sql': 'SELECT {{points_retenton}};' });
  await t.rejects(migratePostgres(db.pool, { dir: typo }), { code: 'TC_MIGRATION_FILES_INVALID', message: /\{\{points_retenton\}\}/ });
  t.equal(await exists(db.pool, 'schema_migrations'), false);
});

t.test('two agents migrating at once: each file is applied exactly once', async (t) => {
  const db = await withPostgres(t);
  const other = new pg.Pool({ connectionString: db.url, max: 2 });
  t.teardown(() => other.end());
  const now = new Date();
  const [a, b] = await Promise.all([migratePostgres(db.pool, { now }), migratePostgres(other, { now })]);
  const applied = [...a.steps, ...b.steps].filter((s) => s.kind === 'migration').map((s) => s.id);
  t.same(applied.sort(), ['0001', '0002', '0003', '0004', '0005', '0006', '0007', '0008', '0009', '0010']);
  t.ok(a.steps.length === 0 || b.steps.length === 0, 'the agent that waited found nothing to do');
});

t.test('series_foreign_key=false omits the FK; a later mismatch is a warning, not a change', async (t) => {
  const db = await withPostgres(t);
  const noFk = await migratePostgres(db.pool, { params: { series_foreign_key: false } });
  t.same(noFk.warnings, []);
  const fks = await db.pool.query(`SELECT conrelid::regclass::text AS t FROM pg_constraint WHERE contype = 'f' AND confrelid = 'metric_series'::regclass`);
  t.same(fks.rows, [], 'no foreign key to metric_series');
  const later = await migratePostgres(db.pool, { params: { series_foreign_key: true } });
  t.same(later.steps, []);
  t.match(later.warnings, [/metrics_points was created without the series foreign key/, /metrics_histogram was created without/]);

  const withFk = await withPostgres(t);
  await migratePostgres(withFk.pool);
  const fk = await withFk.pool.query(
    `SELECT conrelid::regclass::text AS t FROM pg_constraint WHERE contype = 'f' AND confrelid = 'metric_series'::regclass AND conparentid = 0 ORDER BY 1`,
  );
  t.same(fk.rows, [{ t: 'metrics_histogram' }, { t: 'metrics_points' }], 'the seed default keeps the FK');
  const off = await migratePostgres(withFk.pool, { params: { series_foreign_key: false } });
  t.match(off.warnings, [/metrics_points has the series foreign key \w+; .*DROP CONSTRAINT/]);
});

t.test('flavours: a forced flavour is checked against the server and the recorded history', async (t) => {
  const db = await withPostgres(t);
  const plain = await migratePostgres(db.pool, { flavour: 'plain' });
  t.equal(plain.flavour, 'plain');
  await t.rejects(migratePostgres(db.pool, { flavour: 'timescaledb' }), { code: /TC_PG_FLAVOUR_(UNAVAILABLE|MISMATCH)/ });

  // A copy of the shipped files whose history claims the other flavour.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'thermocline-migrations-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(packagedMigrationsDir('pg'), dir, { recursive: true });
  const other = await withPostgres(t);
  await other.pool.query(`CREATE TABLE schema_migrations (version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const template = await readFile(path.join(dir, '0001_extensions.timescaledb.sql'), 'utf8');
  t.ok(template.length > 0);
  await other.pool.query(`INSERT INTO schema_migrations (version, name, checksum) VALUES ('0001', '0001_extensions.timescaledb.sql', 'x')`);
  await t.rejects(migratePostgres(other.pool, { dir, flavour: 'plain' }), { code: 'TC_PG_FLAVOUR_MISMATCH' });
});
