/**
 * The demo's reads from both stores, on connections of its own to the same engines the sinks
 * write to (the embedded ones are shared within the process, so this works while the agent runs).
 */
import path from 'node:path';
import { canonicalLabelsJson } from '../core/events.js';
import { type ClickHouseConnection, connectClickHouse, parseClickHouseUrl } from '../storage/clickhouse/connect.js';
import { type PostgresConnection, connectPostgres } from '../storage/postgres/connect.js';
import { CHECKOUT_TABLE } from './business-events.js';
import { type Burst, DURATION_METRIC, ORDERS_METRIC, SERVICE } from './checkout.js';
import { displayPath } from './scratch.js';

export const PG_TABLES = ['metric_series', 'metrics_points', 'metrics_histogram', 'metrics_1m', 'events_generic'] as const;
export const CH_TABLES = ['logs_events', 'spans', 'span_events', 'metrics_1m'] as const;
export type PgTable = (typeof PG_TABLES)[number];
export type ChTable = (typeof CH_TABLES)[number];

export interface TraceSpan {
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string;
  start_us: number;
  duration_ns: number;
  status_code: string;
  status_message: string;
}
export interface TraceEntry {
  span_id: string;
  ts_us: number;
  /** A span event's name, or a log's level. */
  name: string;
  type: 'event' | 'log';
  /** A log's message, or a span event's attributes as `k=v` text. */
  text: string;
  /** For logs: the file a line was read from, '' for OTLP records. */
  file: string;
}
export interface RollupRow {
  bucketMs: number;
  labels: Record<string, string>;
  avg: number;
  min: number;
  max: number;
}

/** One thing the demo waits for: how many rows it sent, and how many it finds. */
export interface Landing {
  what: string;
  have: number;
  want: number;
}

const num = (v: unknown) => Number(v);
const CHECKOUT_COLUMNS = 'order_id, amount, currency, items, schema_version';
/** Trace ids are the SDK's 32 hex digits; checked anyway before they are written into SQL text. */
const quoteId = (id: string) => {
  if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`not a trace id: ${id}`);
  return `'${id}'`;
};

export class Stores {
  private constructor(
    readonly pg: PostgresConnection,
    readonly ch: ClickHouseConnection,
    /** `PostgreSQL embedded in ./data-demo/postgres`, for the report. */
    readonly pgWhere: string,
    readonly chWhere: string,
  ) {}

  static async open(postgresUrl: string, clickhouseUrl: string, dataDir: string): Promise<Stores> {
    const pg = await connectPostgres(postgresUrl, { dataDir, pool: { max: 2, application_name: 'thermocline demo' } });
    let ch: ClickHouseConnection;
    try {
      ch = await connectClickHouse(clickhouseUrl, { dataDir });
    } catch (err) {
      await pg.release();
      throw err;
    }
    const target = parseClickHouseUrl(clickhouseUrl, dataDir);
    const pgWhere = pg.kind === 'embedded' ? `embedded, in ${displayPath(path.join(dataDir, 'postgres'))}` : pg.displayUrl;
    const chWhere = target.kind === 'embedded' ? `chdb, in ${displayPath(target.path)}, database ${ch.database}` : ch.displayUrl;
    return new Stores(pg, ch, pgWhere, chWhere);
  }

  get db(): string {
    return this.ch.database;
  }

  async pgRows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pg.pool.query(sql, params)).rows as T[];
  }

  async chRows<T>(sql: string): Promise<T[]> {
    return (await (await this.ch.client.query({ query: sql, format: 'JSONEachRow' })).json()) as T[];
  }

  /** Rows per table. ClickHouse's metrics_1m is counted with FINAL: one row per bucket and series, as in PostgreSQL. */
  async counts(): Promise<{ pg: Record<PgTable, number>; ch: Record<ChTable, number> }> {
    const [pgRow] = await this.pgRows<Record<PgTable, string>>(`SELECT ${PG_TABLES.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(', ')}`);
    const [chRow] = await this.chRows<Record<ChTable, string>>(
      `SELECT ${CH_TABLES.map((t) => `(SELECT count() FROM ${this.db}.${t}${t === 'metrics_1m' ? ' FINAL' : ''}) AS ${t}`).join(', ')}`,
    );
    const pick = <K extends string>(keys: readonly K[], row: Record<K, string> | undefined) =>
      Object.fromEntries(keys.map((k) => [k, num(row?.[k] ?? 0)])) as Record<K, number>;
    return { pg: pick(PG_TABLES, pgRow), ch: pick(CH_TABLES, chRow) };
  }

  /**
   * How much of the burst is in the stores so far (`sinceMs`: when it was sent), and with
   * `selfScrape` whether a scrape of the agent's own /metrics has landed too.
   */
  async landings(burst: Burst, o: { gaugeMetric: string; gauges: number; sinceMs: number; pathLabel: string; selfScrape: boolean }): Promise<Landing[]> {
    const ids = burst.traces.map((t) => quoteId(t.traceId)).join(', ');
    const label = `'${o.pathLabel.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const points = (metric: string, table = 'metrics_points', alias = 'p') =>
      `SELECT count(*) FROM ${table} ${alias} JOIN metric_series s USING (series_id) WHERE ${metric} AND ${alias}.time >= $1`;
    const [[spans], [events], [logs], [pg]] = await Promise.all([
      this.chRows<{ n: string }>(`SELECT count() AS n FROM ${this.db}.spans WHERE trace_id IN (${ids})`),
      this.chRows<{ n: string }>(`SELECT count() AS n FROM ${this.db}.span_events WHERE trace_id IN (${ids})`),
      this.chRows<{ sdk: string; file: string }>(
        `SELECT countIf(labels[${label}] = '') AS sdk, countIf(labels[${label}] != '') AS file FROM ${this.db}.logs_events WHERE trace_id IN (${ids})`,
      ),
      this.pgRows<{ gauges: string; counters: string; histograms: string; own: string }>(
        `SELECT (${points('s.metric_name = $2')}) AS gauges,
                (${points("s.metric_name = $3 AND s.labels->>'service' = $5")}) AS counters,
                (${points("s.metric_name = $4 AND s.labels->>'service' = $5", 'metrics_histogram', 'h')}) AS histograms,
                (${points("s.metric_name LIKE 'thermocline\\_%'")}) AS own`,
        [new Date(o.sinceMs - 10 * 60_000), o.gaugeMetric, ORDERS_METRIC, DURATION_METRIC, SERVICE],
      ),
    ]);
    const atLeastOne = (n: unknown) => Math.min(1, num(n));
    return [
      { what: 'spans in ClickHouse spans', have: num(spans?.n), want: burst.spans },
      { what: 'span events in ClickHouse span_events', have: num(events?.n), want: burst.spanEvents },
      { what: 'SDK log records in ClickHouse logs_events', have: num(logs?.sdk), want: burst.sdkLogs },
      { what: 'log file lines in ClickHouse logs_events', have: num(logs?.file), want: burst.fileLines },
      { what: `${o.gaugeMetric} points in PostgreSQL metrics_points`, have: num(pg?.gauges), want: o.gauges },
      { what: `${ORDERS_METRIC} points in PostgreSQL metrics_points`, have: atLeastOne(pg?.counters), want: 1 },
      { what: `${DURATION_METRIC} points in PostgreSQL metrics_histogram`, have: atLeastOne(pg?.histograms), want: 1 },
      ...(o.selfScrape ? [{ what: "a scrape of the agent's own /metrics in PostgreSQL metrics_points", have: atLeastOne(pg?.own), want: 1 }] : []),
    ];
  }

  /** The demo's business events in events_generic and in the typed table, sent since `sinceMs`. */
  async businessEvents(sinceMs: number): Promise<{ generic: Array<{ type: string; severity: string; payload: unknown }>; typed: Array<Record<string, unknown>> }> {
    const since = new Date(sinceMs - 60_000);
    const generic = await this.pgRows<{ type: string; severity: string; payload: unknown }>(
      `SELECT type, severity, payload FROM events_generic WHERE service = 'checkout' AND ts >= $1 ORDER BY ts`,
      [since],
    );
    const exists = (await this.pgRows<{ r: string | null }>('SELECT to_regclass($1) AS r', [CHECKOUT_TABLE]))[0]?.r;
    const typed = exists ? await this.pgRows<Record<string, unknown>>(`SELECT ${CHECKOUT_COLUMNS} FROM ${CHECKOUT_TABLE} WHERE ts >= $1 ORDER BY ts`, [since]) : [];
    return { generic, typed };
  }

  checkoutSql(): string {
    return `SELECT ${CHECKOUT_COLUMNS} FROM ${CHECKOUT_TABLE} ORDER BY ts DESC LIMIT 10`;
  }

  /** The SQL of the trace queries, as printed in the report. */
  traceSql(traceId: string): { spans: string; events: string; logs: string } {
    const id = quoteId(traceId);
    const db = this.db;
    return {
      spans: `SELECT span_id, parent_span_id, name, attr['span.kind'] AS kind, toUnixTimestamp64Micro(start_time) AS start_us, duration_ns, status_code, status_message FROM ${db}.spans WHERE trace_id = ${id} ORDER BY start_time`,
      events: `SELECT span_id, toUnixTimestamp64Micro(ts) AS ts_us, name, attr FROM ${db}.span_events WHERE trace_id = ${id} ORDER BY ts`,
      logs: [
        'SELECT l.span_id AS span_id, toUnixTimestamp64Micro(l.timestamp) AS ts_us, l.level AS level, l.message AS message, l.labels AS labels',
        `FROM ${db}.spans AS s INNER JOIN ${db}.logs_events AS l ON l.trace_id = s.trace_id AND l.span_id = s.span_id`,
        `WHERE s.trace_id = ${id} ORDER BY l.timestamp`,
      ].join('\n'),
    };
  }

  async trace(traceId: string, pathLabel: string): Promise<{ spans: TraceSpan[]; entries: TraceEntry[] }> {
    const sql = this.traceSql(traceId);
    const [spans, events, logs] = await Promise.all([
      this.chRows<Record<keyof TraceSpan, string>>(sql.spans),
      this.chRows<{ span_id: string; ts_us: string; name: string; attr: Record<string, string> }>(sql.events),
      this.chRows<{ span_id: string; ts_us: string; level: string; message: string; labels: Record<string, string> }>(sql.logs),
    ]);
    const entries: TraceEntry[] = [
      ...events.map((e) => ({
        span_id: e.span_id,
        ts_us: num(e.ts_us),
        name: e.name,
        type: 'event' as const,
        text: Object.entries(e.attr)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
        file: '',
      })),
      ...logs.map((l) => ({ span_id: l.span_id, ts_us: num(l.ts_us), name: l.level, type: 'log' as const, text: l.message, file: l.labels[pathLabel] ?? '' })),
    ].sort((a, b) => a.ts_us - b.ts_us);
    return {
      spans: spans.map((s) => ({ ...s, start_us: num(s.start_us), duration_ns: num(s.duration_ns) })),
      entries,
    };
  }

  rollupSql(metric: string): { pg: string; ch: string } {
    return {
      pg: `SELECT bucket, labels, avg_v, min_v, max_v FROM metrics_1m WHERE metric_name = '${metric}' ORDER BY bucket, labels::text`,
      ch: `SELECT bucket, labels, avg_v, min_v, max_v FROM ${this.db}.metrics_1m FINAL WHERE metric_name = '${metric}' ORDER BY bucket, labels`,
    };
  }

  /** `metric`'s rollup rows in each store, keyed alike: bucket and canonical labels. */
  async rollups(metric: string): Promise<{ pg: Map<string, RollupRow>; ch: Map<string, RollupRow> }> {
    const sql = this.rollupSql(metric);
    const [pgRows, chRows] = await Promise.all([
      this.pgRows<{ bucket: Date; labels: Record<string, string>; avg_v: number; min_v: number; max_v: number }>(sql.pg),
      this.chRows<{ bucket: string; labels: string; avg_v: number; min_v: number; max_v: number }>(sql.ch),
    ]);
    const keyed = (rows: RollupRow[]) => new Map(rows.map((r) => [`${r.bucketMs} ${canonicalLabelsJson(r.labels)}`, r]));
    return {
      pg: keyed(pgRows.map((r) => ({ bucketMs: r.bucket.getTime(), labels: r.labels, avg: r.avg_v, min: r.min_v, max: r.max_v }))),
      ch: keyed(
        chRows.map((r) => ({
          bucketMs: Date.parse(`${r.bucket.replace(' ', 'T')}Z`),
          labels: JSON.parse(r.labels) as Record<string, string>,
          avg: num(r.avg_v),
          min: num(r.min_v),
          max: num(r.max_v),
        })),
      ),
    };
  }

  async release(): Promise<void> {
    await Promise.all([this.ch.release(), this.pg.release()]);
  }
}
