import t from 'tap';
import { migrateClickHouse } from '../../src/storage/clickhouse/migrate.js';
import { TTL_TABLES, renderTtl, renderTtlStatement } from '../../src/storage/clickhouse/ttl.js';
import { resolveMigrationParams } from '../../src/storage/params.js';
import { withClickHouse } from '../helpers/clickhouse.js';

/** Column types as the migrations declare them, plus metrics_1m.version. */
const SEED_COLUMNS: Record<string, Record<string, string>> = {
  logs_events: {
    timestamp: "DateTime64(3, 'UTC')",
    service: 'LowCardinality(String)',
    host: 'LowCardinality(String)',
    level: 'LowCardinality(String)',
    trace_id: 'String',
    span_id: 'String',
    message: 'String',
    labels: 'Map(String, String)',
  },
  spans: {
    trace_id: 'String',
    span_id: 'String',
    parent_span_id: 'String',
    service: 'LowCardinality(String)',
    name: 'LowCardinality(String)',
    start_time: "DateTime64(6, 'UTC')",
    end_time: "DateTime64(6, 'UTC')",
    duration_ns: 'UInt64',
    status_code: 'LowCardinality(String)',
    status_message: 'String',
    attr: 'Map(String, String)',
  },
  span_events: { trace_id: 'String', span_id: 'String', ts: "DateTime64(6, 'UTC')", name: 'LowCardinality(String)', attr: 'Map(String, String)' },
  metrics_1m: {
    bucket: "DateTime('UTC')",
    metric_name: 'LowCardinality(String)',
    labels: 'String',
    avg_v: 'Float64',
    max_v: 'Float64',
    min_v: 'Float64',
    version: 'UInt64',
  },
  schema_migrations: { version: 'String', name: 'String', checksum: 'String', applied_at: "DateTime64(3, 'UTC')" },
};

async function rows<T>(ch: { client: { query(p: { query: string; format: 'JSONEachRow' }): Promise<{ json<R>(): Promise<R[]> }> } }, query: string): Promise<T[]> {
  return (await ch.client.query({ query, format: 'JSONEachRow' })).json<T>();
}

t.test('migrates a fresh database, then has nothing left to do', async (t) => {
  const ch = await withClickHouse(t);
  const first = await migrateClickHouse(ch.client, { database: ch.database });
  t.equal(first.storagePolicy, ch.tieredStorage ? 'hot_warm_cold' : 'default');
  t.same(
    first.steps.map((s) => `${s.kind} ${s.name}`),
    [
      'migration 0001_logs_events.sql',
      'migration 0002_spans.sql',
      'migration 0003_span_events.sql',
      'migration 0004_metrics_1m.sql',
      'repeatable ttl logs_events',
      'repeatable ttl spans',
      'repeatable ttl span_events',
      'repeatable ttl metrics_1m',
    ],
  );
  const columns = await rows<{ table: string; name: string; type: string }>(
    ch,
    `SELECT table, name, type FROM system.columns WHERE database = '${ch.database}' ORDER BY table, position`,
  );
  const actual: Record<string, Record<string, string>> = {};
  for (const c of columns) (actual[c.table] ??= {})[c.name] = c.type;
  t.same(actual, SEED_COLUMNS, 'tables and columns match the seed');

  const indexes = await rows<{ name: string; type_full: string }>(
    ch,
    `SELECT name, type_full FROM system.data_skipping_indices WHERE database = '${ch.database}' AND table = 'logs_events' ORDER BY name`,
  );
  t.same(indexes, [
    { name: 'idx_msg', type_full: 'ngrambf_v1(3, 256, 3, 0)' },
    { name: 'idx_trace', type_full: 'set(0)' },
  ]);
  const engines = await rows<{ name: string; engine: string }>(ch, `SELECT name, engine FROM system.tables WHERE database = '${ch.database}' AND name = 'metrics_1m'`);
  t.same(engines, [{ name: 'metrics_1m', engine: 'ReplacingMergeTree' }]);

  const second = await migrateClickHouse(ch.client, { database: ch.database });
  t.same(second.steps, [], 'a second run is a no-op');
});

t.test('dry run plans everything and changes nothing', async (t) => {
  const ch = await withClickHouse(t);
  const plan = await migrateClickHouse(ch.client, { database: ch.database, dryRun: true });
  t.equal(plan.steps.length, 8);
  t.match(plan.steps[0]?.sql, new RegExp(`CREATE TABLE IF NOT EXISTS ${ch.database}\\.logs_events`));
  t.same(await rows(ch, `SELECT name FROM system.tables WHERE database = '${ch.database}'`), [], 'no table was created');
});

t.test('without the hot_warm_cold policy: plain TTL delete, no volumes', async (t) => {
  const ch = await withClickHouse(t);
  if (ch.tieredStorage) return t.plan(0, 'this server has the hot_warm_cold policy');
  await migrateClickHouse(ch.client, { database: ch.database });
  const tables = await rows<{ name: string; engine_full: string; storage_policy: string }>(
    ch,
    `SELECT name, engine_full, storage_policy FROM system.tables WHERE database = '${ch.database}' AND name != 'schema_migrations' ORDER BY name`,
  );
  const expected: Record<string, string> = {
    logs_events: 'TTL timestamp + toIntervalDay(180)',
    spans: 'TTL start_time + toIntervalDay(180)',
    span_events: 'TTL ts + toIntervalDay(180)',
    metrics_1m: 'TTL bucket + toIntervalDay(365)',
  };
  t.equal(tables.length, 4);
  for (const table of tables) {
    t.equal(table.storage_policy, 'default', `${table.name} on the default policy`);
    t.ok(table.engine_full.includes(`${expected[table.name]} SETTINGS`), `${table.name}: ${expected[table.name]}`);
    t.notMatch(table.engine_full, /TO VOLUME/, `${table.name}: no TO VOLUME`);
    t.match(table.engine_full, /non_replicated_deduplication_window = 1000/, `${table.name}: deduplication window`);
  }
  await t.rejects(migrateClickHouse(ch.client, { database: ch.database, storagePolicy: 'hot_warm_cold' }), { code: 'TC_CH_STORAGE_POLICY_MISSING' });
});

t.test('with the policy, the TTLs move to warm and cold (rendered, and parsed by ClickHouse)', async (t) => {
  const ch = await withClickHouse(t);
  const params = resolveMigrationParams({});
  const logs = TTL_TABLES.find((x) => x.table === 'logs_events');
  const metrics = TTL_TABLES.find((x) => x.table === 'metrics_1m');
  if (logs === undefined || metrics === undefined) throw new Error('TTL_TABLES lost a table');
  t.equal(
    renderTtl(logs, params, true),
    "timestamp + INTERVAL 7 DAY TO VOLUME 'warm', timestamp + INTERVAL 30 DAY TO VOLUME 'cold', timestamp + INTERVAL 180 DAY DELETE",
  );
  t.equal(renderTtl(logs, params, false), 'timestamp + INTERVAL 180 DAY DELETE');
  t.equal(renderTtl(metrics, params, true), 'bucket + INTERVAL 365 DAY DELETE', 'metrics_1m only expires (seed §2.4)');
  // EXPLAIN AST parses without executing: the policy and the volumes need not exist for this.
  for (const spec of TTL_TABLES) {
    const sql = renderTtlStatement(ch.database, spec, params, true);
    await t.resolves(ch.client.query({ query: `EXPLAIN AST ${sql}`, format: 'TabSeparated' }), `parses: ${sql}`);
  }
});

t.test('a retention change re-applies the TTLs, and only those', async (t) => {
  const ch = await withClickHouse(t);
  await migrateClickHouse(ch.client, { database: ch.database });
  const changed = await migrateClickHouse(ch.client, { database: ch.database, params: { ch_delete_after_days: 90 } });
  t.same(
    changed.steps.map((s) => s.name),
    ['ttl logs_events', 'ttl spans', 'ttl span_events'],
  );
  const [logs] = await rows<{ engine_full: string }>(ch, `SELECT engine_full FROM system.tables WHERE database = '${ch.database}' AND name = 'logs_events'`);
  t.match(logs?.engine_full, /TTL timestamp \+ toIntervalDay\(90\)/);
  t.same((await migrateClickHouse(ch.client, { database: ch.database, params: { ch_delete_after_days: 90 } })).steps, []);
});

t.test('an insert repeated with the same insert_deduplication_token inserts nothing', async (t) => {
  const ch = await withClickHouse(t);
  await migrateClickHouse(ch.client, { database: ch.database });
  const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
  const batch = [{ timestamp: now, service: 'api', host: 'h1', level: 'info', trace_id: '', span_id: '', message: 'hello', labels: {} }];
  const insert = (token: string) =>
    ch.client.insert({ table: `${ch.database}.logs_events`, values: batch, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: token } });
  await insert('sink:1');
  await insert('sink:1');
  t.same(await rows(ch, `SELECT count() AS n FROM ${ch.database}.logs_events`), [{ n: '1' }], 'the replay was dropped');
  await insert('sink:2');
  t.same(await rows(ch, `SELECT count() AS n FROM ${ch.database}.logs_events`), [{ n: '2' }], 'a new batch identity is inserted');
});

t.test('metrics_1m keeps the latest export of a bucket (ReplacingMergeTree, read with FINAL)', async (t) => {
  const ch = await withClickHouse(t);
  await migrateClickHouse(ch.client, { database: ch.database });
  const bucket = Math.floor(Date.now() / 60_000) * 60;
  const row = (v: number, version: number) => ({ bucket, metric_name: 'cpu', labels: '{"host":"a"}', avg_v: v, max_v: v, min_v: v, version });
  await ch.client.insert({ table: `${ch.database}.metrics_1m`, values: [row(1, 100)], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'x:1' } });
  await ch.client.insert({ table: `${ch.database}.metrics_1m`, values: [row(2, 200)], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'x:2' } });
  t.same(await rows(ch, `SELECT avg_v, version FROM ${ch.database}.metrics_1m FINAL`), [{ avg_v: 2, version: '200' }]);
});
