import t from 'tap';
import { migratePostgres } from '../../src/storage/postgres/migrate.js';
import { listPartitions, partitionName } from '../../src/storage/postgres/partitions.js';
import { detectFlavour } from '../../src/storage/postgres/flavour.js';
import { withPostgres } from '../helpers/postgres.js';

/** Column types as the seed (§1) declares them, per table; information_schema spelling. */
const SEED_COLUMNS: Record<string, Record<string, string>> = {
  metric_series: { series_id: 'bigint', metric_name: 'text', labels: 'jsonb', created_at: 'timestamp with time zone' },
  metrics_points: { time: 'timestamp with time zone', series_id: 'bigint', value: 'double precision' },
  metrics_histogram: { time: 'timestamp with time zone', series_id: 'bigint', count: 'bigint', sum: 'double precision', buckets: 'jsonb' },
  metrics_1m: {
    bucket: 'timestamp with time zone',
    metric_name: 'text',
    labels: 'jsonb',
    avg_v: 'double precision',
    max_v: 'double precision',
    min_v: 'double precision',
  },
  events_generic: { id: 'uuid', ts: 'timestamp with time zone', type: 'text', service: 'text', severity: 'text', payload: 'jsonb' },
  metrics_events: { time: 'timestamp with time zone', metric_name: 'text', labels: 'jsonb', value: 'double precision' },
  thermocline_batches: { sink: 'text', seq: 'bigint', committed_at: 'timestamp with time zone' },
  schema_migrations: { version: 'text', name: 'text', checksum: 'text', applied_at: 'timestamp with time zone' },
};

t.test('migrates a fresh database, then has nothing left to do', async (t) => {
  const db = await withPostgres(t);
  const flavour = await detectFlavour(db.pool);
  const now = new Date();
  const first = await migratePostgres(db.pool, { now });
  t.equal(first.flavour, flavour);
  t.equal(first.dryRun, false);
  const files = first.steps.filter((s) => s.kind === 'migration').map((s) => s.name);
  t.same(files, [
    `0001_extensions.${flavour}.sql`,
    '0002_metric_series.sql',
    `0003_metrics_points.${flavour}.sql`,
    `0004_metrics_histogram.${flavour}.sql`,
    `0005_metrics_1m.${flavour}.sql`,
    `0006_events_generic.${flavour}.sql`,
    '0007_metrics_events_view.sql',
    '0008_thermocline_batches.sql',
    '0009_schema_registry.sql',
    '0010_events_generic_dedupe.sql',
  ]);

  const { rows } = await db.pool.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1)`,
    [Object.keys(SEED_COLUMNS)],
  );
  const actual: Record<string, Record<string, string>> = {};
  for (const row of rows) (actual[row.table_name] ??= {})[row.column_name] = row.data_type;
  t.same(actual, SEED_COLUMNS, 'tables and columns match the seed');

  const history = await db.pool.query('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
  t.equal(history.rowCount, flavour === 'timescaledb' ? 11 : 10, 'every file is recorded once');

  const second = await migratePostgres(db.pool, { now });
  t.same(second.steps, [], 'a second run is a no-op');
  t.same(second.warnings, []);
});

t.test('dry run plans everything and changes nothing', async (t) => {
  const db = await withPostgres(t);
  const now = new Date();
  const plan = await migratePostgres(db.pool, { dryRun: true, now });
  t.equal(plan.dryRun, true);
  t.ok(plan.steps.some((s) => s.name === '0002_metric_series.sql'), 'plans the numbered files');
  t.ok(plan.steps.every((s) => s.sql.length > 0), 'each planned step carries its SQL');
  const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()`);
  t.same(rows, [{ n: 0 }], 'no relation was created, not even schema_migrations');

  const applied = await migratePostgres(db.pool, { now });
  t.same(
    applied.steps.map((s) => s.name),
    plan.steps.map((s) => s.name),
    'the real run does what the dry run announced',
  );
});

t.test('plain flavour: partitions for yesterday, today and the premade days', async (t) => {
  const db = await withPostgres(t);
  if ((await detectFlavour(db.pool)) !== 'plain') return t.plan(0, 'TimescaleDB server: hypertables instead of partitions');
  const now = new Date('2026-03-10T15:00:00Z');
  const result = await migratePostgres(db.pool, { now, params: { pg_partition_premake_days: 2 } });
  const created = result.steps.filter((s) => s.kind === 'maintenance').map((s) => s.id);
  const days = ['2026-03-09', '2026-03-10', '2026-03-11', '2026-03-12'].map((d) => new Date(`${d}T00:00:00Z`));
  for (const table of ['metrics_points', 'metrics_histogram', 'events_generic'] as const) {
    const names = (await listPartitions(db.pool, table)).map((p) => p.name);
    t.same(names, days.map((d) => partitionName(table, d)), `${table} partitions`);
    for (const name of names) t.ok(created.includes(name), `${name} reported as created`);
  }
  const kind = await db.pool.query(`SELECT relkind::text AS kind FROM pg_class WHERE oid = 'metrics_1m'::regclass`);
  t.same(kind.rows, [{ kind: 'r' }], 'metrics_1m is an ordinary table');
  const pk = await db.pool.query(
    `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'events_generic'::regclass AND contype = 'p'`,
  );
  t.same(pk.rows, [{ def: 'PRIMARY KEY (id, ts)' }], 'events_generic key includes the partition key');
  t.same((await migratePostgres(db.pool, { now, params: { pg_partition_premake_days: 2 } })).steps, [], 'idempotent');
});
