/** Pure pieces of the storage layer: parameters, SQL fragments, templates, splitting, file sets. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { errorEntries } from '../../src/core/errors.js';
import { STORAGE_ERRORS, StorageError, isStorageError } from '../../src/storage/errors.js';
import { filesForFlavour, loadMigrationFiles } from '../../src/storage/migrate/files.js';
import { formatMigrateResult } from '../../src/storage/migrate/report.js';
import { splitStatements } from '../../src/storage/migrate/split.js';
import { chInterval, identifierLiteral, pgInterval, plainIdentifier, trustedSql } from '../../src/storage/migrate/sql-fragment.js';
import { renderTemplate } from '../../src/storage/migrate/template.js';
import { DEFAULT_MIGRATION_PARAMS, resolveMigrationParams } from '../../src/storage/params.js';
import { SharedResources } from '../../src/storage/shared-resource.js';

t.test('parameters: seed defaults, strict validation, every problem at once', async (t) => {
  t.same(resolveMigrationParams(), DEFAULT_MIGRATION_PARAMS);
  t.equal(resolveMigrationParams({ ch_delete_after_days: 90 }).ch_delete_after_days, 90);
  t.ok(Object.isFrozen(resolveMigrationParams()));
  const err = (() => {
    try {
      resolveMigrationParams({
        pg_points_retention_days: "30 days'; DROP TABLE x; --",
        pg_events_retention_days: 1.5,
        ch_warm_after_days: 40,
        pg_cagg_start_offset_minutes: 2,
        retention: 1,
      });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.match(err, { code: 'TC_MIGRATION_PARAMS_INVALID' });
  const message = String((err as Error).message);
  for (const key of ['pg_points_retention_days', 'pg_events_retention_days', 'ch_warm_after_days', 'pg_cagg_start_offset_minutes', 'retention']) {
    t.match(message, new RegExp(key), `reports ${key}`);
  }
  t.throws(() => resolveMigrationParams({ pg_points_compress_after_days: 30 }), { message: /pg_points_compress_after_days: must be less than pg_points_retention_days/ });
  t.throws(() => resolveMigrationParams({ ch_cold_after_days: 200 }), { message: /ch_cold_after_days/ });
  t.throws(() => resolveMigrationParams({ pg_metrics_1m_retention_days: 0 }), { code: 'TC_MIGRATION_PARAMS_INVALID' });
  t.throws(() => resolveMigrationParams(null), { code: 'TC_MIGRATION_PARAMS_INVALID' });
});

t.test('SQL fragments only come from integers and plain identifiers', async (t) => {
  t.equal(pgInterval(30, 'day'), "INTERVAL '30 days'");
  t.equal(pgInterval(1, 'minute'), "INTERVAL '1 minute'");
  t.equal(chInterval(7, 'day'), 'INTERVAL 7 DAY');
  t.throws(() => pgInterval(1.5, 'day'), RangeError);
  t.throws(() => chInterval(-1, 'day'), RangeError);
  t.equal(plainIdentifier('tc_db1'), 'tc_db1');
  t.throws(() => plainIdentifier('db; DROP'), RangeError);
  t.throws(() => identifierLiteral("x' OR '1"), RangeError);
  t.equal(trustedSql(''), '');
});

t.test('templates: known placeholders only', async (t) => {
  t.equal(renderTemplate('f.sql', 'SELECT {{ a }}, {{b}};', { a: trustedSql('1'), b: trustedSql('2') }), 'SELECT 1, 2;');
  t.throws(() => renderTemplate('f.sql', 'SELECT {{a}}, {{c}};', { a: trustedSql('1') }), { code: 'TC_MIGRATION_FILES_INVALID', message: /f\.sql: unknown placeholder\(s\) \{\{c\}\}/ });
  t.throws(() => renderTemplate('f.sql', 'SELECT {{toString}};', {}), { code: 'TC_MIGRATION_FILES_INVALID' }, 'no prototype keys');
});

t.test('statement splitting understands quotes and comments and keeps line numbers', async (t) => {
  const sql = [
    '-- header; with a semicolon',
    "CREATE TABLE a (s String DEFAULT 'x;y', t String DEFAULT 'it''s');",
    '',
    '/* block; comment */ ALTER TABLE a',
    '  ADD INDEX i s TYPE set(0) GRANULARITY 4; # trailing',
    'SELECT "we;ird", `back;tick`, \'esc\\\';aped\'',
    '-- only a comment;',
  ].join('\n');
  t.same(splitStatements(sql), [
    { sql: "CREATE TABLE a (s String DEFAULT 'x;y', t String DEFAULT 'it''s')", line: 2 },
    { sql: 'ALTER TABLE a\n  ADD INDEX i s TYPE set(0) GRANULARITY 4', line: 4 },
    { sql: "SELECT \"we;ird\", `back;tick`, 'esc\\';aped'\n-- only a comment;", line: 6 },
  ]);
  t.same(splitStatements('  \n-- nothing\n;;'), []);
  t.same(splitStatements("SELECT 'unterminated; still one"), [{ sql: "SELECT 'unterminated; still one", line: 1 }]);
});

t.test('migration file sets: names, flavours, clashes', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'thermocline-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = { '0002_b.plain.sql': 'b', '0002_b.timescaledb.sql': 'B', '0001_a.sql': 'a', 'R__p.timescaledb.sql': 'p', 'notes.txt': 'ignored' };
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  const set = await loadMigrationFiles(dir, ['timescaledb', 'plain']);
  t.same(set.versioned.map((f) => f.name), ['0001_a.sql', '0002_b.plain.sql', '0002_b.timescaledb.sql']);
  t.same(filesForFlavour(set, 'plain').versioned.map((f) => f.name), ['0001_a.sql', '0002_b.plain.sql']);
  t.same(filesForFlavour(set, 'plain').repeatable, []);
  t.same(filesForFlavour(set, 'timescaledb').repeatable.map((f) => f.id), ['R__p']);
  t.equal(set.versioned[0]?.checksum, 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb', 'sha256 of the file text');
  await t.rejects(loadMigrationFiles(dir, []), { code: 'TC_MIGRATION_FILES_INVALID', message: /0002_b\.plain\.sql: expected/ }, 'ClickHouse has no flavours');
  await t.rejects(loadMigrationFiles(path.join(dir, 'missing'), []), { code: 'TC_MIGRATION_FILES_INVALID', message: /cannot read/ });
  await writeFile(path.join(dir, '0002_b.sql'), 'common');
  await t.rejects(loadMigrationFiles(dir, ['timescaledb', 'plain']), { message: /0002: conflicting files/ });
});

t.test('errors carry a code and its hint', async (t) => {
  const err = new StorageError('TC_CHDB_PATH_CONFLICT', 'two paths');
  t.equal(err.code, STORAGE_ERRORS.TC_CHDB_PATH_CONFLICT);
  t.match(err.hint, /one data directory per process/);
  t.ok(isStorageError(err, 'TC_CHDB_PATH_CONFLICT'));
  t.notOk(isStorageError(err, 'TC_PG_UNREACHABLE'));
  t.notOk(isStorageError(new Error('x')));
  for (const [code, entry] of errorEntries(STORAGE_ERRORS)) t.ok(/^TC_[A-Z_]+$/.test(code) && entry.hint.length > 20, `${code} has a hint`);
});

t.test('report formatting', async (t) => {
  t.equal(
    formatMigrateResult(
      { target: 'clickhouse', dryRun: false, database: 'obs', storagePolicy: 'hot_warm_cold', steps: [{ kind: 'repeatable', id: 'R__ttl_spans', name: 'ttl spans', sql: '' }], warnings: ['careful'] },
      'http://u:***@ch:8123/',
    ),
    'clickhouse http://u:***@ch:8123/ (database obs, storage policy hot_warm_cold)\n  applied 1 step(s)\n  repeat   ttl spans\n  warning: careful\n',
  );
});

t.test('shared resources: one open per key, closed by the last release, reopenable', async (t) => {
  const shared = new SharedResources<{ id: number }>();
  let opened = 0;
  const closed: number[] = [];
  const open = async () => ({ id: ++opened });
  const close = async (v: { id: number }) => void closed.push(v.id);
  const [a, b] = await Promise.all([shared.acquire('k', open), shared.acquire('k', open)]);
  t.equal(a, b);
  t.equal(opened, 1);
  await shared.release('k', close);
  t.same(closed, []);
  await shared.release('k', close);
  t.same(closed, [1]);
  await shared.release('k', close);
  t.same(closed, [1], 'an extra release is a no-op');
  await t.rejects(shared.acquire('bad', async () => Promise.reject(new Error('boom'))), { message: 'boom' });
  t.same(shared.keys(), [], 'a failed open leaves nothing behind');
  t.equal((await shared.acquire('k', open)).id, 2, 'reopens after close');
});
