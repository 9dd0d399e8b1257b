/**
 * TimescaleDB before 2.12 kept its internal functions in `_timescaledb_internal`, and older
 * releases named a continuous aggregate's jobs after its materialization hypertable in
 * `timescaledb_information.jobs` (2.26 names them after the view); pg-source.ts handles both. The
 * machine's TimescaleDB (2.26) cannot show those paths, so this file keeps a stand-in of the catalog
 * parts the exporter reads, with the columns and signatures TimescaleDB documents. Everything else about the
 * TimescaleDB flavour (the watermark, the refresh policy's reach, a policy without start) runs
 * against the real extension in timescaledb.test.ts, and the stand-ins that only repeated it are
 * gone.
 */
import t from 'tap';
import { withClickHouse, withPostgres } from '../../../testing/index.js';
import { migrateClickHouse } from '../../../storage/index.js';
import type { ChEndpoint, PgEndpoint } from './endpoints.js';
import { MINUTE, assertSameRollups, chBucket, exporterOn, minutesAgo, run } from './testdata/harness.js';

t.test('older TimescaleDB: functions in _timescaledb_internal, jobs named after the materialization hypertable', async (t) => {
  const [db, ch] = await Promise.all([withPostgres(t), withClickHouse(t)]);
  await migrateClickHouse(ch.client, { database: ch.database });
  await db.pool.query(`
    CREATE SCHEMA _timescaledb_internal;
    CREATE SCHEMA _timescaledb_catalog;
    CREATE SCHEMA timescaledb_information;
    CREATE TABLE _timescaledb_catalog.hypertable (id integer, schema_name name, table_name name);
    CREATE TABLE timescaledb_information.continuous_aggregates (view_schema name, view_name name, materialization_hypertable_schema name, materialization_hypertable_name name, materialized_only boolean);
    CREATE TABLE timescaledb_information.jobs (job_id integer, proc_name name, hypertable_schema name, hypertable_name name, config jsonb);
    CREATE TABLE stand_in_watermark (id integer, watermark bigint);
    CREATE FUNCTION _timescaledb_internal.cagg_watermark(hypertable_id integer) RETURNS int8 LANGUAGE sql STABLE
      AS $$ SELECT COALESCE((SELECT watermark FROM stand_in_watermark WHERE id = hypertable_id), -9223372036854775808) $$;
    CREATE FUNCTION _timescaledb_internal.to_timestamp(unixtime_us bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE
      AS $$ SELECT CASE WHEN unixtime_us = -9223372036854775808 THEN '-infinity'::timestamptz ELSE to_timestamp(unixtime_us / 1000000.0) END $$;
    CREATE TABLE _timescaledb_internal._materialized_hypertable_7 (bucket timestamptz NOT NULL, metric_name text NOT NULL, labels jsonb NOT NULL, avg_v float8, max_v float8, min_v float8);
    CREATE VIEW metrics_1m AS SELECT * FROM _timescaledb_internal._materialized_hypertable_7;
    INSERT INTO _timescaledb_catalog.hypertable VALUES (7, '_timescaledb_internal', '_materialized_hypertable_7');
    INSERT INTO timescaledb_information.continuous_aggregates VALUES (current_schema(), 'metrics_1m', '_timescaledb_internal', '_materialized_hypertable_7', true);
    INSERT INTO timescaledb_information.jobs VALUES (1000, 'policy_refresh_continuous_aggregate', '_timescaledb_internal', '_materialized_hypertable_7',
      '{"end_offset": "00:01:00", "start_offset": "01:30:00", "mat_hypertable_id": 7}');
  `);
  const ts = {
    pg: { pool: db.pool, flavour: 'timescaledb', params: { pg_cagg_start_offset_minutes: 120, pg_cagg_end_offset_minutes: 1 }, display: 'stand-in' } satisfies PgEndpoint,
    chEndpoint: { client: ch.client, database: ch.database, engine: ch.mode === 'embedded' ? 'embedded' : 'server', display: 'test' } satisfies ChEndpoint,
  };
  for (const ago of [30, 5]) {
    await db.pool.query(`INSERT INTO _timescaledb_internal._materialized_hypertable_7 VALUES ($1, 'cpu', '{"host": "a"}', 1, 1, 1)`, [new Date(minutesAgo(ago))]);
  }
  const { exporter } = exporterOn(ts);
  t.equal((await run(exporter)).rows, 0, 'no watermark yet (-infinity): nothing is closed');
  await db.pool.query(`INSERT INTO stand_in_watermark VALUES (7, ${minutesAgo(10) * 1000})`);
  t.equal((await run(exporter)).rows, 1, 'the bucket below the watermark, read through _timescaledb_internal');
  t.same(await chBucket(ts, minutesAgo(5), 'cpu'), [], 'not the one above it');
  await assertSameRollups(t, ts, minutesAgo(60), minutesAgo(10));
  t.same(await chBucket(ts, minutesAgo(30), 'cpu'), [{ labels: '{"host":"a"}', avg_v: 1, max_v: 1, min_v: 1 }]);
  t.equal((await run(exporter)).from, minutesAgo(10) - 90 * MINUTE, "the policy found under the materialization hypertable's name: 90 - 1 + one bucket");
});
