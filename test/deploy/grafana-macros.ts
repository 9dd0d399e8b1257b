/**
 * Grafana's query expansion, for running dashboard SQL outside Grafana: template variables as the
 * frontend interpolates them for SQL data sources, then each data source's macros as its backend
 * expands them:
 * - PostgreSQL (grafana-postgresql-datasource, pkg/tsdb/grafana-postgresql-datasource/macros.go):
 *   `$__timeFilter(c)` is `c BETWEEN '<from>' AND '<to>'` (RFC 3339), `$__timeGroup(c, i)` is
 *   `floor(extract(epoch from c)/s)*s`, `$__timeGroupAlias` the same `AS "time"`.
 * - ClickHouse (grafana-clickhouse-datasource, pkg/macros/macros.go): `$__timeFilter(c)` is
 *   `c >= toDateTime(<from s>) AND c <= toDateTime(<to s>)`, `$__timeInterval(c)` is
 *   `toStartOfInterval(toDateTime(c), INTERVAL <s> second)`.
 */
export interface Target {
  readonly refId: string;
  readonly datasource: { readonly type: string; readonly uid: string };
  readonly rawSql: string;
}

export interface Link {
  readonly title: string;
  readonly url: string;
}

export interface Panel {
  readonly title: string;
  readonly datasource: { readonly uid: string };
  readonly targets: readonly Target[];
  readonly fieldConfig: {
    readonly defaults: { readonly links?: readonly Link[] };
    readonly overrides: readonly { readonly properties: readonly { readonly id: string; readonly value: unknown }[] }[];
  };
}

export interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query: string;
  readonly multi?: boolean;
  readonly includeAll?: boolean;
  readonly datasource?: { readonly uid: string };
}

export interface Dashboard {
  readonly uid: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly Variable[] };
}

export interface TimeRange {
  readonly from: Date;
  readonly to: Date;
  readonly intervalSecs: number;
}

function quote(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `${name}`, `${name:format}` and `$name` for the variables given (formats: raw, singlequote). */
export function interpolate(sql: string, vars: Readonly<Record<string, string | readonly string[]>>): string {
  return sql.replace(/\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g, (whole, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare) as string;
    if (!Object.hasOwn(vars, name)) return whole; // a macro such as $__timeFilter
    const value = vars[name] as string | readonly string[];
    const values = typeof value === 'string' ? [value] : value;
    if (format === 'singlequote') return values.map(quote).join(',');
    if (format === 'raw' || typeof value === 'string') return values.join(',');
    return values.map(quote).join(',');
  });
}

function parseInterval(text: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`cannot read interval ${text}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

function macros(sql: string, expand: (name: string, args: string[]) => string | undefined): string {
  const out = sql.replace(
    /\$__(\w+)\(([^)]*)\)/g,
    (whole, name: string, args: string) =>
      expand(
        name,
        args.split(',').map((a) => a.trim()),
      ) ?? whole,
  );
  const left = /\$__\w+/.exec(out);
  if (left) throw new Error(`macro ${left[0]} is not expanded in:\n${out}`);
  return out;
}

export function pgMacros(sql: string, range: TimeRange): string {
  return macros(sql, (name, [column, interval]) => {
    const group = () => {
      const s = parseInterval(interval ?? '');
      return `floor(extract(epoch from ${column})/${s})*${s}`;
    };
    if (name === 'timeFilter') return `${column} BETWEEN '${range.from.toISOString()}' AND '${range.to.toISOString()}'`;
    if (name === 'timeGroup') return group();
    if (name === 'timeGroupAlias') return `${group()} AS "time"`;
    return undefined;
  });
}

export function chMacros(sql: string, range: TimeRange): string {
  const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
  return macros(sql, (name, [column]) => {
    if (name === 'timeFilter') return `${column} >= toDateTime(${seconds(range.from)}) AND ${column} <= toDateTime(${seconds(range.to)})`;
    if (name === 'timeInterval') return `toStartOfInterval(toDateTime(${column}), INTERVAL ${Math.max(1, range.intervalSecs)} second)`;
    return undefined;
  });
}
