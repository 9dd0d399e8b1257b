/**
 * The TimescaleDB flavour. TimescaleDB is not installable on the development machines,
 * so these tests run the exporter's real queries against stand-ins of the parts of TimescaleDB's
 * catalog it reads, with the columns and signatures TimescaleDB documents
 * (`timescaledb_information.continuous_aggregates` and `.jobs`, `_timescaledb_catalog.hypertable`,
 * `_timescaledb_functions.cagg_watermark(integer)` and `.to_timestamp(bigint)`, or their
 * `_timescaledb_internal` forms before 2.12). That proves the queries parse and join what the
 * documentation says they should, and that the exporter reads only below the materialization
 * watermark and as far back as the refresh policy reaches; not TimescaleDB's own behaviour.
 */
import t from 'tap';
import { withClickHouse, withPostgres } from '../../../testing/index.js';
import { migrateClickHouse } from '../../../storage/index.js';
import type { ChEndpoint, PgEndpoint } from './endpoints.js';
import { MINUTE, NOW, assertSameRollups, chBucket, exporterOn, minutesAgo, run } from './testdata/harness.js';

async function timescaleStandIn(
  t: Parameters<typeof withPostgres>[0] & object,
  functions: '_timescaledb_functions' | '_timescaledb_internal' = '_timescaledb_functions',
) {
  const [db, ch] = await Promise.all([withPostgres(t), withClickHouse(t)]);
  await migrateClickHouse(ch.client, { database: ch.database });
  await db.pool.query(`
    CREATE SCHEMA ${functions};
    CREATE SCHEMA IF NOT EXISTS _timescaledb_catalog;
    CREATE SCHEMA timescaledb_information;
    CREATE TABLE _timescaledb_catalog.hypertable (id integer, schema_name name, table_name name);
    CREATE TABLE timescaledb_information.continuous_aggregates (view_schema name, view_name name, materialization_hypertable_schema name, materialization_hypertable_name name, materialized_only boolean);
    CREATE TABLE timescaledb_information.jobs (job_id integer, proc_name name, hypertable_schema name, hypertable_name name, config jsonb);
    CREATE TABLE stand_in_watermark (id integer, watermark bigint);
    CREATE FUNCTION ${functions}.cagg_watermark(hypertable_id integer) RETURNS int8 LANGUAGE sql STABLE
      AS $$ SELECT COALESCE((SELECT watermark FROM stand_in_watermark WHERE id = hypertable_id), -9223372036854775808) $$;
    CREATE FUNCTION ${functions}.to_timestamp(unixtime_us bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE
      AS $$ SELECT CASE WHEN unixtime_us = -9223372036854775808 THEN '-infinity'::timestamptz ELSE to_timestamp(unixtime_us / 1000000.0) END $$;
    CREATE SCHEMA _timescaledb_internal_mat;
    CREATE TABLE _timescaledb_internal_mat._materialized_hypertable_7 (bucket timestamptz NOT NULL, metric_name text NOT NULL, labels jsonb NOT NULL, avg_v float8, max_v float8, min_v float8);
    -- Real-time aggregation would show raw buckets above the watermark here too: the view shows all.
    CREATE VIEW metrics_1m AS SELECT * FROM _timescaledb_internal_mat._materialized_hypertable_7;
    INSERT INTO _timescaledb_catalog.hypertable VALUES (7, '_timescaledb_internal_mat', '_materialized_hypertable_7');
    INSERT INTO timescaledb_information.continuous_aggregates VALUES (current_schema(), 'metrics_1m', '_timescaledb_internal_mat', '_materialized_hypertable_7', true);
  `);
  const pg: PgEndpoint = {
    pool: db.pool,
    flavour: 'timescaledb',
    params: { pg_cagg_start_offset_minutes: 120, pg_cagg_end_offset_minutes: 1 },
    display: 'timescaledb stand-in',
  };
  const chEndpoint: ChEndpoint = { client: ch.client, database: ch.database, engine: ch.mode === 'embedded' ? 'embedded' : 'server', display: 'test' };
  const setWatermark = (ms: number) => db.pool.query(`DELETE FROM stand_in_watermark; INSERT INTO stand_in_watermark VALUES (7, ${ms * 1000})`);
  const rollup = (bucket: number, value: number, name = 'cpu') =>
    db.pool.query(`INSERT INTO _timescaledb_internal_mat._materialized_hypertable_7 VALUES ($1, $2, '{"host": "a", "job": "node"}', $3, $3, $3)`, [
      new Date(bucket),
      name,
      value,
    ]);
  const rewrite = (bucket: number, value: number) =>
    db.pool.query(`UPDATE _timescaledb_internal_mat._materialized_hypertable_7 SET avg_v = $2, max_v = $2, min_v = $2 WHERE bucket = $1`, [
      new Date(bucket),
      value,
    ]);
  return { db, pg, chEndpoint, setWatermark, rollup, rewrite };
}

t.test('reads only buckets below the materialization watermark', async (t) => {
  const ts = await timescaleStandIn(t);
  for (const [ago, v] of [
    [20, 1],
    [15, 2],
    [10, 3],
    [5, 4],
  ] as const)
    await ts.rollup(minutesAgo(ago), v);
  const { exporter, state } = exporterOn(ts);
  const none = await run(exporter);
  t.equal(none.rows, 0, 'nothing is materialized yet (-infinity): nothing is closed');
  t.equal(state.get('watermark'), undefined);

  await ts.setWatermark(minutesAgo(10));
  const report = await run(exporter);
  t.equal(report.rows, 2, 'the buckets 20 and 15 minutes ago; not the one at the watermark, not the one above it');
  t.equal(state.get('watermark'), new Date(minutesAgo(10)).toISOString(), 'the exporter watermark follows the aggregate');
  t.same(await chBucket(ts, minutesAgo(10), 'cpu'), []);
  await assertSameRollups(t, ts, minutesAgo(30), minutesAgo(10));
});

t.test('goes back as far as the refresh policy reaches, even with a shorter lateness', async (t) => {
  const ts = await timescaleStandIn(t);
  await ts.db.pool
    .query(`INSERT INTO timescaledb_information.jobs VALUES (1000, 'policy_refresh_continuous_aggregate', '_timescaledb_internal_mat', '_materialized_hypertable_7',
    '{"end_offset": "00:01:00", "start_offset": "01:30:00", "mat_hypertable_id": 7}')`);
  await ts.rollup(minutesAgo(60), 1);
  await ts.rollup(minutesAgo(20), 1);
  await ts.setWatermark(minutesAgo(10));
  const { exporter, logs } = exporterOn(ts, { latenessMs: 5 * MINUTE });
  await run(exporter);
  // The policy's next run rewrote the bucket an hour ago (late points) and materialized further.
  await ts.rewrite(minutesAgo(60), 42);
  await ts.rollup(minutesAgo(8), 2);
  await ts.setWatermark(minutesAgo(5));
  const report = await run(exporter);
  t.equal(report.from, minutesAgo(10) - 90 * MINUTE, 'start_offset - end_offset + one bucket behind the watermark');
  t.same(await chBucket(ts, minutesAgo(60), 'cpu'), [{ labels: '{"host":"a","job":"node"}', avg_v: 42, max_v: 42, min_v: 42 }]);
  t.ok(
    logs.messages().some((m) => /rewrites buckets up to 90 minutes back/.test(m)),
    'says why it goes back further than lateness',
  );
  await assertSameRollups(t, ts, minutesAgo(120), minutesAgo(5));
});

t.test('without a policy row the named sink parameters give the reach; a policy without start is warned about', async (t) => {
  const ts = await timescaleStandIn(t);
  await ts.rollup(minutesAgo(30), 1);
  await ts.setWatermark(minutesAgo(10));
  const { exporter, logs } = exporterOn(ts);
  await run(exporter);
  t.equal((await run(exporter)).from, minutesAgo(10) - 120 * MINUTE, 'start 120, end 1, plus one bucket');
  await ts.db.pool.query(
    `INSERT INTO timescaledb_information.jobs VALUES (1000, 'policy_refresh_continuous_aggregate', '_timescaledb_internal_mat', '_materialized_hypertable_7', '{"end_offset": "00:01:00", "start_offset": null}')`,
  );
  const other = exporterOn(ts);
  await run(other.exporter);
  t.ok(
    other.logs.messages().some((m) => /has no start_offset/.test(m)),
    'an unbounded policy is a warning',
  );
  t.equal(logs.lines.filter((l) => l.level === 40).length, 0);
});

t.test('TimescaleDB before 2.12: the functions live in _timescaledb_internal', async (t) => {
  const ts = await timescaleStandIn(t, '_timescaledb_internal');
  await ts.rollup(minutesAgo(30), 1);
  await ts.setWatermark(minutesAgo(10));
  const { exporter } = exporterOn(ts);
  t.equal((await run(exporter)).rows, 1);
  await assertSameRollups(t, ts, minutesAgo(60), NOW);
});
