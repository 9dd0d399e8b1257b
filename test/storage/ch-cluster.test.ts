/**
 * Cluster DDL (docs/storage.md#clusters) for the 2-shard x 2-replica layout of
 * deployments/clickhouse/cluster.xml. There is no ClickHouse cluster here: every statement is
 * parsed by ClickHouse's own parser (chdb's formatQuery), and the part a single node can run (the
 * shard-local tables with the replication arguments taken out, and the sharding keys evaluated
 * against them) runs on chdb.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { LOCAL_SUFFIX, SHARDING_KEYS, clusterStatements } from '../../src/storage/clickhouse/cluster.js';
import { migrateClickHouse, setupStatements } from '../../src/storage/clickhouse/migrate.js';
import { splitStatements } from '../../src/storage/migrate/split.js';
import { repoRoot, runCli } from '../helpers/agent-process.js';
import { withClickHouse } from '../helpers/clickhouse.js';

const CLUSTER = 'thermocline';

t.test('the sample cluster is 2 shards x 2 replicas with shard and replica macros and Keeper', async (t) => {
  const xml = await readFile(path.join(repoRoot, 'deployments/clickhouse/cluster.xml'), 'utf8');
  const cluster = new RegExp(`<remote_servers>\\s*<${CLUSTER}>([\\s\\S]*)</${CLUSTER}>\\s*</remote_servers>`).exec(xml)?.[1] ?? '';
  const shards = [...cluster.matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) => [...(m[1] as string).matchAll(/<replica>/g)].length);
  t.same(shards, [2, 2]);
  t.match(cluster, /<internal_replication>true<\/internal_replication>/);
  t.match(xml, /<macros>[\s\S]*<shard [^>]*\/>[\s\S]*<replica [^>]*\/>[\s\S]*<\/macros>/);
  t.equal([...xml.matchAll(/<node><host>keeper-\d<\/host>/g)].length, 3, 'three Keeper nodes');
});

t.test('every statement parses; the single-node subset runs on chdb', async (t) => {
  const ch = await withClickHouse(t);
  const planned = await migrateClickHouse(ch.client, { database: ch.database, cluster: CLUSTER, dryRun: true });
  const statements = [...setupStatements(ch.database, CLUSTER), ...planned.steps.flatMap((s) => splitStatements(s.sql).map((x) => x.sql))];

  for (const sql of statements) {
    t.match(sql, /ON CLUSTER thermocline/, `on the cluster: ${sql.slice(0, 60)}`);
    const rs = await ch.client.query({ query: `SELECT formatQuery(${quote(sql)}) AS f`, format: 'JSONEachRow' });
    const [row] = await rs.json<{ f: string }>();
    t.ok(row?.f, `ClickHouse parses: ${sql.slice(0, 60)}`);
  }
  const tables = Object.keys(SHARDING_KEYS);
  for (const table of tables) {
    const local = `${ch.database}.${table}${LOCAL_SUFFIX}`;
    const create = statements.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${local} `));
    t.match(
      create,
      new RegExp(`ENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/${ch.database}/${table}_local', '\\{replica\\}'`),
      `${table}: replicated per shard`,
    );
    t.ok(
      statements.includes(
        `CREATE TABLE IF NOT EXISTS ${ch.database}.${table} ON CLUSTER thermocline AS ${local}\nENGINE = Distributed('thermocline', '${ch.database}', '${table}_local', ${SHARDING_KEYS[table]})`,
      ),
      `${table}: a Distributed table under the usual name`,
    );
  }
  t.match(
    statements.find((s) => s.includes('ReplicatedReplacingMergeTree(version)')) ?? statements.join('\n'),
    /metrics_1m_local/,
    'metrics_1m stays a ReplacingMergeTree',
  );
  t.ok(
    statements.some((s) => /^ALTER TABLE \S+\.logs_events_local ON CLUSTER thermocline\s+ADD INDEX IF NOT EXISTS idx_msg/.test(s)),
    'indexes go to the local table',
  );
  t.ok(
    statements.some((s) => /^ALTER TABLE \S+\.spans_local ON CLUSTER thermocline MODIFY TTL/.test(s)),
    'TTLs go to the local tables',
  );

  // The single-node subset: local tables without replication, ALTERs, and the sharding keys.
  const single = statements
    .filter((s) => !/ENGINE = Distributed\(/.test(s))
    .map((s) => s.replace(/ ON CLUSTER thermocline/, '').replace(/Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?/, '$1('));
  for (const sql of single) await ch.client.command({ query: sql });
  for (const table of tables) {
    const rs = await ch.client.query({
      query: `SELECT ${SHARDING_KEYS[table]} AS k FROM ${ch.database}.${table}${LOCAL_SUFFIX} LIMIT 0`,
      format: 'JSONEachRow',
    });
    t.same(await rs.json(), [], `${table}: the sharding key is valid on the table`);
  }
  const rs = await ch.client.query({ query: `SELECT name, engine FROM system.tables WHERE database = '${ch.database}' ORDER BY name`, format: 'JSONEachRow' });
  t.same(
    (await rs.json<{ name: string }>()).map((r) => r.name),
    [...tables.map((x) => `${x}${LOCAL_SUFFIX}`), 'schema_migrations'].sort(),
  );
});

t.test('a statement the rewriter does not know is refused, not passed through', async (t) => {
  t.throws(() => clusterStatements('CREATE VIEW db.v AS SELECT 1', CLUSTER), { code: 'TC_MIGRATION_FILES_INVALID' });
  t.throws(() => clusterStatements('ALTER TABLE db.t DROP COLUMN x', 'bad name'), { code: 'TC_MIGRATION_PARAMS_INVALID' });
});

function quote(sql: string): string {
  return `'${sql.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

t.test('thermocline migrate --clickhouse-cluster plans the cluster DDL; a bad name is refused', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tc-cluster-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'thermocline.toml');
  await writeFile(config, `data_dir = "${dir}"\n[sources.g]\ntype = "generator"\n[sinks.b]\ntype = "blackhole"\ninputs = ["g"]\n`);
  const planned = await runCli(['migrate', '--clickhouse', 'chdb://ch', '--clickhouse-cluster', CLUSTER, '--dry-run', '-c', config]);
  t.equal(planned.code, 0, planned.stderr);
  t.match(planned.stdout, /cluster thermocline/);
  t.match(planned.stdout, /0001_logs_events\.sql/);
  const refused = await runCli(['migrate', '--clickhouse', 'chdb://ch', '--clickhouse-cluster', 'no such', '--dry-run', '-c', config]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /TC_MIGRATION_PARAMS_INVALID/);
});
