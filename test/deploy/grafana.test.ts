/**
 * The Grafana provisioning of deployments/grafana (docs/deploy.md#grafana), checked without a
 * Grafana server: every SQL of every panel and query variable is expanded as Grafana and its
 * plugins expand it (template variables, then the data source's macros) and run against the
 * embedded PostgreSQL and chdb, migrated and filled with a checkout service's data; every panel
 * must return rows. The dashboards are typechecked against `@grafana/schema`'s `Dashboard`, data
 * links must point at a provisioned dashboard and its variables, and the provisioning YAML must
 * carry the keys Grafana reads.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import YAML from 'yaml';
import { migrateClickHouse } from '../../src/storage/clickhouse/migrate.js';
import { migratePostgres } from '../../src/storage/postgres/migrate.js';
import { repoRoot } from '../helpers/agent-process.js';
import { withClickHouse } from '../helpers/clickhouse.js';
import { withPostgres } from '../helpers/postgres.js';
import { type Dashboard, chMacros, interpolate, pgMacros } from './grafana-macros.js';

const run = promisify(execFile);
const grafana = path.join(repoRoot, 'deployments/grafana');
const files = (await readdir(path.join(grafana, 'dashboards'))).filter((f) => f.endsWith('.json')).sort();
const dashboards = new Map<string, Dashboard>();
for (const f of files) dashboards.set(f, JSON.parse(await readFile(path.join(grafana, 'dashboards', f), 'utf8')) as Dashboard);

const NOW = Date.now();
const RANGE = { from: new Date(NOW - 3600_000), to: new Date(NOW), intervalSecs: 60 };
const TRACE = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';

t.test('dashboards typecheck as @grafana/schema Dashboard objects', async (t) => {
  // As object literals in a typed position, so that string unions (variable and panel types) are
  // checked as literals, which a JSON import would widen to string.
  const dir = await mkdtemp(path.join(repoRoot, 'test/deploy/.grafana-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const source = [
    "import type { Dashboard } from '@grafana/schema';",
    ...files.map((f, i) => `export const d${i}: Dashboard = ${JSON.stringify(dashboards.get(f), null, 2)};`),
  ].join('\n');
  await writeFile(path.join(dir, 'dashboards.ts'), source);
  const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
  const args = [
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    path.join(dir, 'dashboards.ts'),
  ];
  const result = await run(process.execPath, [tsc, ...args], { cwd: repoRoot }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? 'tsc failed',
  );
  t.equal(result, '', 'no type errors');
});

t.test('provisioning YAML has the keys Grafana reads', async (t) => {
  const ds = YAML.parse(await readFile(path.join(grafana, 'provisioning/datasources/thermocline.yaml'), 'utf8')) as {
    apiVersion: number;
    datasources: { name: string; uid: string; type: string; url?: string; jsonData: Record<string, unknown>; secureJsonData: Record<string, unknown> }[];
  };
  t.equal(ds.apiVersion, 1);
  const byUid = new Map(ds.datasources.map((d) => [d.uid, d]));
  const pg = byUid.get('thermocline-pg');
  t.equal(pg?.type, 'grafana-postgresql-datasource');
  t.ok(pg?.url && pg.jsonData.database && pg.secureJsonData.password, 'postgres: url, jsonData.database, secureJsonData.password');
  const ch = byUid.get('thermocline-ch');
  t.equal(ch?.type, 'grafana-clickhouse-datasource');
  for (const key of ['host', 'port', 'protocol', 'username', 'defaultDatabase']) t.ok(ch?.jsonData[key] !== undefined, `clickhouse: jsonData.${key}`);
  t.ok(ch?.secureJsonData.password, 'clickhouse: secureJsonData.password');
  const prov = YAML.parse(await readFile(path.join(grafana, 'provisioning/dashboards/thermocline.yaml'), 'utf8')) as {
    apiVersion: number;
    providers: { name: string; type: string; options: { path: string } }[];
  };
  t.equal(prov.apiVersion, 1);
  t.equal(prov.providers[0]?.type, 'file');
  t.match(prov.providers[0]?.options.path, /^\//);
  // Every panel's data source is a provisioned one.
  for (const [file, d] of dashboards) for (const p of d.panels) t.ok(byUid.has(p.datasource.uid), `${file} / ${p.title}: provisioned data source`);
});

t.test('data links open provisioned dashboards with their variables', async (t) => {
  const byUid = new Map([...dashboards.values()].map((d) => [d.uid, d]));
  const links = [...dashboards.values()].flatMap((d) =>
    d.panels.flatMap((p) => [
      ...(p.fieldConfig.defaults.links ?? []),
      ...p.fieldConfig.overrides.flatMap((o) => o.properties.flatMap((x) => (x.id === 'links' ? (x.value as { url: string }[]) : []))),
    ]),
  );
  t.ok(links.length >= 6, 'metric -> logs, log -> trace and trace -> logs links exist');
  for (const link of links) {
    const m = /^\/d\/([^/]+)\/[^?]+\?(.*)$/.exec(link.url);
    const target = m ? byUid.get(m[1] as string) : undefined;
    t.ok(target, `${link.url} opens a provisioned dashboard`);
    const vars = new Set(target?.templating.list.map((v) => v.name));
    for (const [, name] of (m?.[2] ?? '').matchAll(/var-([a-z_]+)=/g)) t.ok(vars.has(name as string), `${link.url}: ${name} is a variable there`);
    t.match(link.url, /\$\{__url_time_range\}/, 'keeps the time window');
  }
});

t.test('every query runs against PostgreSQL and ClickHouse, and panels return rows', async (t) => {
  const pg = await withPostgres(t);
  await migratePostgres(pg.pool, { flavour: 'plain' });
  const ch = await withClickHouse(t);
  // Queries name tables without a database, as the data source's defaultDatabase allows.
  await migrateClickHouse(ch.client, { database: 'default' });
  await fill(pg.pool, ch.client);

  const runSql = async (uid: string, sql: string, vars: Record<string, string | string[]>): Promise<Record<string, unknown>[]> => {
    const text = interpolate(sql, { ...vars, __interval: `${RANGE.intervalSecs}s` });
    if (uid === 'thermocline-pg') return (await pg.pool.query(pgMacros(text, RANGE))).rows as Record<string, unknown>[];
    const rs = await ch.client.query({ query: chMacros(text, RANGE), format: 'JSONEachRow' });
    return rs.json<Record<string, unknown>>();
  };

  for (const [file, d] of dashboards) {
    // Variables first, in order: each takes its first value (all values for multi/All ones).
    const vars: Record<string, string | string[]> = {};
    for (const v of d.templating.list) {
      if (v.type === 'textbox') {
        vars[v.name] = v.name === 'trace_id' && d.uid === 'thermocline-trace' ? TRACE : '';
        continue;
      }
      const rows = await runSql(v.datasource?.uid ?? '', v.query, vars);
      const values = rows.map((r) => String(Object.values(r)[0]));
      t.ok(values.length > 0, `${file}: variable ${v.name} has values`);
      vars[v.name] = v.multi || v.includeAll ? values : (values[0] ?? '');
    }
    for (const p of d.panels) {
      for (const target of p.targets) {
        const rows = await runSql(target.datasource.uid, target.rawSql, vars);
        t.ok(rows.length > 0, `${file} / ${p.title}: returns rows`);
      }
    }
  }
});

async function fill(pool: import('pg').Pool, client: import('@clickhouse/client').ClickHouseClient): Promise<void> {
  const from = new Date(NOW - 3600_000).toISOString();
  const to = new Date(NOW).toISOString();
  await pool.query(`
    INSERT INTO metric_series (metric_name, labels) VALUES
      ('checkout_orders', '{"service": "checkout", "outcome": "placed"}'),
      ('checkout_orders', '{"service": "checkout", "outcome": "declined"}'),
      ('checkout_duration_ms', '{"service": "checkout", "http.route": "/checkout"}'),
      ('thermocline_component_received_events_total', '{"component_id": "otlp", "component_kind": "source", "role": "gateway"}'),
      ('thermocline_component_sent_events_total', '{"component_id": "pg", "component_kind": "sink", "role": "gateway"}'),
      ('thermocline_component_errors_total', '{"component_id": "ch", "component_kind": "sink", "role": "gateway"}'),
      ('thermocline_buffer_events', '{"component_id": "ch", "role": "gateway"}'),
      ('up', '{"instance": "127.0.0.1:8686", "job": "thermocline", "role": "gateway"}')`);
  // Cumulative counters every 15 s over the last hour (histogram count and sum likewise).
  await pool.query(
    `INSERT INTO metrics_points (time, series_id, value)
     SELECT ts, s.series_id, CASE WHEN s.metric_name IN ('up') THEN 1 ELSE extract(epoch FROM ts - $1::timestamptz) * (1 + s.series_id % 3) END
     FROM generate_series($1::timestamptz, $2::timestamptz, interval '15 seconds') AS g(ts) CROSS JOIN metric_series s WHERE s.metric_name <> 'checkout_duration_ms'`,
    [from, to],
  );
  await pool.query(
    `INSERT INTO metrics_histogram (time, series_id, count, sum, buckets)
     SELECT ts, s.series_id, (extract(epoch FROM ts - $1::timestamptz))::bigint, extract(epoch FROM ts - $1::timestamptz) * 80, '{"100": 1, "+Inf": 1}'
     FROM generate_series($1::timestamptz, $2::timestamptz, interval '15 seconds') AS g(ts) CROSS JOIN metric_series s WHERE s.metric_name = 'checkout_duration_ms'`,
    [from, to],
  );
  // JSON integers are ticks of the column's precision: ms for DateTime64(3), µs for DateTime64(6).
  const at = (msAgo: number) => (NOW - msAgo) * 1000;
  const logs = Array.from({ length: 60 }, (_, i) => ({
    timestamp: NOW - i * 60_000,
    service: 'checkout',
    host: 'node-1',
    level: i % 10 === 0 ? 'error' : 'info',
    trace_id: i === 0 ? TRACE : `trace${i}`,
    span_id: 'span1',
    message: i % 10 === 0 ? 'card declined: insufficient funds' : 'order placed',
    labels: { user: `u${i}` },
  }));
  await client.insert({ table: 'default.logs_events', values: logs, format: 'JSONEachRow' });
  await client.insert({
    table: 'default.spans',
    values: [
      {
        trace_id: TRACE,
        span_id: 'span1',
        parent_span_id: '',
        service: 'checkout',
        name: 'POST /checkout',
        start_time: at(30_000),
        end_time: at(29_000),
        duration_ns: 1e9,
        status_code: 'ERROR',
        status_message: 'declined',
        attr: {},
      },
      {
        trace_id: TRACE,
        span_id: 'span2',
        parent_span_id: 'span1',
        service: 'checkout',
        name: 'payment',
        start_time: at(30_000),
        end_time: at(29_500),
        duration_ns: 5e8,
        status_code: 'ERROR',
        status_message: '',
        attr: {},
      },
    ],
    format: 'JSONEachRow',
  });
  await client.insert({
    table: 'default.span_events',
    values: [{ trace_id: TRACE, span_id: 'span2', ts: at(29_600), name: 'exception', attr: { 'exception.message': 'card declined' } }],
    format: 'JSONEachRow',
  });
  const buckets = Array.from({ length: 120 }, (_, i) => Math.floor((NOW - i * 60_000) / 60_000) * 60);
  await client.insert({
    table: 'default.metrics_1m',
    values: buckets.flatMap((b) => [
      { bucket: b, metric_name: 'checkout_orders', labels: '{"outcome":"placed","service":"checkout"}', avg_v: 10, max_v: 12, min_v: 8, version: 1 },
      { bucket: b, metric_name: 'checkout_orders', labels: '{"outcome":"declined","service":"checkout"}', avg_v: 1, max_v: 2, min_v: 0, version: 1 },
    ]),
    format: 'JSONEachRow',
  });
}
