/**
 * The TimescaleDB flavour. TimescaleDB is not installable on the development machines,
 * so what runs here depends on the server:
 *   - any PostgreSQL: the rendered SQL contains the seed's calls with the parameters, and
 *     PostgreSQL's own parser accepts every statement. That proves syntax, not semantics: function
 *     signatures and TimescaleDB options are only checked by a TimescaleDB server;
 *   - a TimescaleDB (THERMOCLINE_TESTCONTAINERS=1, or PG_URL pointing at one): the real migration,
 *     its hypertables, continuous aggregate and policies, and a retention change.
 */
import t from 'tap';
import { filesForFlavour, loadMigrationFiles, packagedMigrationsDir } from '../../src/storage/migrate/files.js';
import { renderTemplate } from '../../src/storage/migrate/template.js';
import { detectFlavour } from '../../src/storage/postgres/flavour.js';
import { migratePostgres, pgTemplateValues } from '../../src/storage/postgres/migrate.js';
import { resolveMigrationParams } from '../../src/storage/params.js';
import { withPostgres } from '../helpers/postgres.js';

async function renderedTimescaleFiles(overrides = {}) {
  const files = filesForFlavour(await loadMigrationFiles(packagedMigrationsDir('pg'), ['timescaledb', 'plain']), 'timescaledb');
  const values = pgTemplateValues(resolveMigrationParams(overrides));
  return [...files.versioned, ...files.repeatable].map((f) => ({ name: f.name, sql: renderTemplate(f.name, f.template, values) }));
}

/**
 * Parses without executing: PL/pgSQL compiles a DO block's statements with PostgreSQL's raw
 * parser (check_function_bodies is on by default) before running it, and RETURN ends it first.
 */
function parseOnly(sql: string): string {
  return `DO $thermocline_parse$ BEGIN RETURN;\n${sql}\nEND $thermocline_parse$`;
}

t.test('rendered TimescaleDB SQL carries the seed calls and the parameters', async (t) => {
  const all = (await renderedTimescaleFiles()).map((f) => f.sql).join('\n');
  for (const expected of [
    'CREATE EXTENSION IF NOT EXISTS timescaledb',
    `SELECT create_hypertable('metrics_points', 'time'`,
    `SELECT create_hypertable('metrics_histogram', 'time'`,
    `SELECT create_hypertable('events_generic', 'ts'`,
    'series_id   BIGINT NOT NULL REFERENCES metric_series (series_id)',
    'timescaledb.compress,',
    'WITH (timescaledb.continuous)',
    'WITH NO DATA',
    `add_compression_policy('metrics_points', INTERVAL '7 days', if_not_exists => TRUE)`,
    `add_retention_policy('metrics_points', INTERVAL '30 days', if_not_exists => TRUE)`,
    `add_retention_policy('metrics_histogram', INTERVAL '30 days', if_not_exists => TRUE)`,
    `add_retention_policy('events_generic', INTERVAL '30 days', if_not_exists => TRUE)`,
    `add_retention_policy('metrics_1m', INTERVAL '90 days', if_not_exists => TRUE)`,
    "start_offset      => INTERVAL '120 minutes'",
    "end_offset        => INTERVAL '1 minute'",
    "schedule_interval => INTERVAL '1 minute'",
  ]) {
    t.ok(all.includes(expected), expected);
  }
  const changed = (await renderedTimescaleFiles({ pg_points_retention_days: 14, series_foreign_key: false })).map((f) => f.sql).join('\n');
  t.ok(changed.includes(`add_retention_policy('metrics_points', INTERVAL '14 days'`), 'parameters flow into the policies');
  t.notOk(changed.includes('REFERENCES metric_series'), 'series_foreign_key=false drops the REFERENCES clause');
});

t.test("every TimescaleDB statement passes PostgreSQL's parser", async (t) => {
  const db = await withPostgres(t);
  for (const file of await renderedTimescaleFiles()) {
    await t.resolves(db.pool.query(parseOnly(file.sql)), file.name);
  }
  // The check can fail: a typo is caught without anything being executed.
  await t.rejects(db.pool.query(parseOnly(`SELECT create_hypertable('x', 'time');\nCREAT TABLE y (a int);`)), { code: '42601' });
  await t.rejects(db.pool.query(parseOnly(`SELECT add_retention_policy('x', INTERVAL '1 day';`)), { code: '42601' });
});

t.test("the continuous aggregate's query yields the plain metrics_1m's columns", async (t) => {
  const db = await withPostgres(t);
  await migratePostgres(db.pool, { flavour: 'plain' });
  const file = (await renderedTimescaleFiles()).find((f) => f.name === '0005_metrics_1m.timescaledb.sql');
  const select = /WITH \(timescaledb\.continuous\) AS\s+([\s\S]+?)\s+WITH NO DATA/.exec(file?.sql ?? '')?.[1];
  if (select === undefined) throw new Error('no continuous aggregate query found');
  // A stand-in for TimescaleDB's time_bucket, so PostgreSQL can analyse the query as a plain view.
  await db.pool.query(`CREATE FUNCTION time_bucket(bucket_width interval, ts timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE AS $$ SELECT date_bin(bucket_width, ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') $$`);
  await db.pool.query(`CREATE VIEW cagg_query AS ${select}`);
  const columns = async (table: string) =>
    (
      await db.pool.query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
        [table],
      )
    ).rows;
  t.same(await columns('cagg_query'), await columns('metrics_1m'), 'same names and types in both flavours');
});

t.test('on a TimescaleDB server: hypertables, continuous aggregate, policies', async (t) => {
  const db = await withPostgres(t);
  if ((await detectFlavour(db.pool)) !== 'timescaledb') return t.plan(0, 'no TimescaleDB here (set THERMOCLINE_TESTCONTAINERS=1 or PG_URL)');
  const result = await migratePostgres(db.pool);
  t.equal(result.flavour, 'timescaledb');
  const hypertables = await db.pool.query(`SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_schema = current_schema() ORDER BY 1`);
  t.same(hypertables.rows.map((r) => r.hypertable_name), ['events_generic', 'metrics_histogram', 'metrics_points']);
  const caggs = await db.pool.query(`SELECT view_name FROM timescaledb_information.continuous_aggregates`);
  t.same(caggs.rows, [{ view_name: 'metrics_1m' }]);
  const jobs = async () =>
    (
      await db.pool.query<{ proc_name: string; n: number }>(
        `SELECT proc_name, count(*)::int AS n FROM timescaledb_information.jobs WHERE proc_name LIKE 'policy_%' GROUP BY 1 ORDER BY 1`,
      )
    ).rows;
  t.same(await jobs(), [
    { proc_name: 'policy_compression', n: 1 },
    { proc_name: 'policy_refresh_continuous_aggregate', n: 1 },
    { proc_name: 'policy_retention', n: 4 },
  ]);
  t.same((await migratePostgres(db.pool)).steps, [], 'idempotent');

  const changed = await migratePostgres(db.pool, { params: { pg_points_retention_days: 14, pg_cagg_start_offset_minutes: 60 } });
  t.same(changed.steps.map((s) => s.id), ['R__policies'], 'a parameter change re-applies the policies only');
  const retention = await db.pool.query(
    `SELECT (config->>'drop_after')::interval = INTERVAL '14 days' AS ok FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = 'metrics_points'`,
  );
  t.same(retention.rows, [{ ok: true }]);
  t.same(await jobs(), [
    { proc_name: 'policy_compression', n: 1 },
    { proc_name: 'policy_refresh_continuous_aggregate', n: 1 },
    { proc_name: 'policy_retention', n: 4 },
  ], 'policies replaced, not duplicated');
});
