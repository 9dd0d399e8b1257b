/**
 * Checks the two `metrics_1m` before the first export, so that a missing migration is reported as
 * such (TC_CAGG_SCHEMA) rather than as a failed COPY or insert. In particular a ClickHouse table
 * created by the seed (a plain MergeTree without `version`) would keep every re-export of a bucket
 * and disagree with PostgreSQL: the exporter refuses to write into it.
 */
import { ThermoclineError } from '../../../index.js';
import type { ChEndpoint, PgEndpoint } from './endpoints.js';
import { EXPORT_COLUMNS } from './chunk.js';
import { hasMetrics1m } from './pg-source.js';
import { CAGG_ERRORS } from './errors.js';

const EXPECTED_TYPES: Record<(typeof EXPORT_COLUMNS)[number], RegExp> = {
  bucket: /^DateTime(\('UTC'\))?$/,
  metric_name: /^(LowCardinality\()?String\)?$/,
  labels: /^String$/,
  avg_v: /^Float64$/,
  max_v: /^Float64$/,
  min_v: /^Float64$/,
  version: /^UInt64$/,
};

export async function checkPostgresSchema(pg: PgEndpoint): Promise<void> {
  if (!(await hasMetrics1m(pg.pool))) {
    throw new ThermoclineError(CAGG_ERRORS.TC_CAGG_SCHEMA, `PostgreSQL (${pg.display}) has no metrics_1m: run \`thermocline migrate --pg <url>\` or name a postgres sink with migrate = true`);
  }
}

export async function checkClickHouseSchema(ch: ChEndpoint): Promise<void> {
  const result = await ch.client.query({
    query: `SELECT t.engine AS engine, c.name AS name, c.type AS type
              FROM system.tables t LEFT JOIN system.columns c ON c.database = t.database AND c.table = t.name
             WHERE t.database = '${ch.database}' AND t.name = 'metrics_1m'`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ engine: string; name: string; type: string }>();
  const where = `ClickHouse ${ch.database}.metrics_1m (${ch.display})`;
  if (rows.length === 0) throw new ThermoclineError(CAGG_ERRORS.TC_CAGG_SCHEMA, `${where} does not exist: run \`thermocline migrate --clickhouse <url>\` or name a clickhouse sink with migrate = true`);
  const engine = rows[0]?.engine ?? '';
  if (!/ReplacingMergeTree$/.test(engine)) {
    throw new ThermoclineError(
      CAGG_ERRORS.TC_CAGG_SCHEMA,
      `${where} is a ${engine}, not a ReplacingMergeTree: re-exported buckets would be kept twice. Create it with migrations/clickhouse/0004_metrics_1m.sql (rename the old table and copy its rows over)`,
    );
  }
  const types = new Map(rows.map((r) => [r.name, r.type]));
  const wrong = EXPORT_COLUMNS.filter((c) => !EXPECTED_TYPES[c].test(types.get(c) ?? ''));
  if (wrong.length > 0) {
    throw new ThermoclineError(
      CAGG_ERRORS.TC_CAGG_SCHEMA,
      `${where} lacks or mistypes ${wrong.map((c) => `${c} (${types.get(c) ?? 'missing'})`).join(', ')}: it needs bucket DateTime, metric_name and labels String, avg_v, max_v and min_v Float64, version UInt64`,
    );
  }
}
