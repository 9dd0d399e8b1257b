/**
 * What the demo prints once everything has landed: rows per table, one trace as a tree of spans
 * with its span events and logs, the rollup in both stores side by side, and what to try next.
 */
import { canonicalLabelsJson } from '../core/events.js';
import { clock, columns, minute, value } from './format.js';
import type { Refusal } from './business-events.js';
import type { ChTable, PgTable, RollupRow, TraceEntry, TraceSpan } from './stores.js';

const PG_NOTES: Record<PgTable, string> = {
  metric_series: 'one row per metric name and label set',
  metrics_points: "gauge and counter points: the SDK's counter, the old gauge, the agent's own /metrics",
  metrics_histogram: "histogram points: the SDK's histogram, the agent's own latency histograms",
  metrics_1m: 'the 1-minute rollup (avg, min, max per series), refreshed by the rollup exporter',
  events_generic: 'business events (deploys, incidents, checkouts), posted to the http_events source',
};
const CH_NOTES: Record<ChTable, string> = {
  logs_events: 'log records: from the SDK over OTLP, and lines of the log files',
  spans: "the SDK's spans",
  span_events: 'span events and recorded exceptions',
  metrics_1m: 'the rollup, copied from PostgreSQL by the rollup exporter (read with FINAL)',
};

export function renderCounts(counts: { pg: Record<PgTable, number>; ch: Record<ChTable, number> }, where: { pg: string; ch: string }): string[] {
  const rows: string[][] = [];
  rows.push([`PostgreSQL (${where.pg})`, '', '']);
  for (const [table, n] of Object.entries(counts.pg) as Array<[PgTable, number]>) {
    const note = table === 'events_generic' && n === 0 ? `${PG_NOTES[table]}: no http_events source in this pipeline` : PG_NOTES[table];
    rows.push([`  ${table}`, String(n), note]);
  }
  rows.push([`ClickHouse (${where.ch})`, '', '']);
  for (const [table, n] of Object.entries(counts.ch) as Array<[ChTable, number]>) rows.push([`  ${table}`, String(n), CH_NOTES[table]]);
  // The store headings are longer than the table names: keep them out of the column widths.
  const aligned = columns(
    rows.filter((r) => r[1] !== ''),
    ['l', 'r', 'l'],
  );
  let i = 0;
  return rows.map((r) => `  ${r[1] === '' ? r[0] : aligned[i++]}`);
}

interface Line {
  span?: string[];
  text?: string;
}

/**
 * The trace as a tree: each span with its kind, duration and status, and under it its span events
 * and logs in time order; `otlp` marks a log record the SDK sent, `file` a line of a log file.
 */
export function renderTrace(spans: readonly TraceSpan[], entries: readonly TraceEntry[]): string[] {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string, TraceSpan[]>();
  const roots: TraceSpan[] = [];
  for (const s of spans) {
    if (s.parent_span_id !== '' && ids.has(s.parent_span_id)) children.set(s.parent_span_id, [...(children.get(s.parent_span_id) ?? []), s]);
    else roots.push(s);
  }
  const entryText = (e: TraceEntry) =>
    e.type === 'event'
      ? `${clock(e.ts_us)}  event  ${e.name}${e.text === '' ? '' : `  ${e.text}`}`
      : `${clock(e.ts_us)}  log    ${e.name.padEnd(5)}  ${e.file === '' ? 'otlp' : 'file'}  ${e.text}`;
  const lines: Line[] = [];
  const walk = (s: TraceSpan, connector: string, lead: string) => {
    const kids = children.get(s.span_id) ?? [];
    const status = s.status_code === 'ERROR' ? `ERROR${s.status_message ? `: ${s.status_message}` : ''}` : s.status_code === 'OK' ? 'OK' : '';
    lines.push({ span: [`${connector}${s.name}`, s.kind, `${(s.duration_ns / 1e6).toFixed(1)} ms`, status] });
    for (const e of entries) if (e.span_id === s.span_id) lines.push({ text: `${lead}${kids.length > 0 ? '│  ' : '   '}${entryText(e)}` });
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      walk(k, `${lead}${last ? '└─ ' : '├─ '}`, `${lead}${last ? '   ' : '│  '}`);
    });
  };
  for (const r of roots) walk(r, '', '');
  const aligned = columns(
    lines.flatMap((l) => (l.span ? [l.span] : [])),
    ['l', 'l', 'r', 'l'],
  );
  let i = 0;
  return lines.map((l) => `  ${l.span ? aligned[i++] : l.text}`);
}

const labelText = (labels: Record<string, string>) =>
  Object.entries(JSON.parse(canonicalLabelsJson(labels)) as Record<string, string>)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
const triple = (r: RollupRow | undefined) => (r ? `${value(r.avg)} / ${value(r.min)} / ${value(r.max)}` : 'missing');

/** Rollup rows of both stores side by side, the most recent buckets first. */
export function renderRollups(pg: Map<string, RollupRow>, ch: Map<string, RollupRow>, max: number): { lines: string[]; shown: number; same: number } {
  const all = new Map([...ch, ...pg]);
  // The latest buckets first; within a bucket, by labels.
  const keys = [...all.keys()].sort((a, b) => (all.get(b) as RollupRow).bucketMs - (all.get(a) as RollupRow).bucketMs || (a < b ? -1 : 1)).slice(0, max);
  const rows = [['bucket (UTC)', 'labels', 'PostgreSQL avg / min / max', 'ClickHouse avg / min / max', '']];
  let same = 0;
  for (const key of keys) {
    const p = pg.get(key);
    const c = ch.get(key);
    const r = (p ?? c) as RollupRow;
    const equal = p !== undefined && c !== undefined && p.avg === c.avg && p.min === c.min && p.max === c.max;
    if (equal) same++;
    rows.push([minute(r.bucketMs), labelText(r.labels), triple(p), triple(c), equal ? 'same' : 'DIFFERENT']);
  }
  return { lines: columns(rows).map((l) => `  ${l}`), shown: keys.length, same };
}

/** "What to try next": the SQL the report ran, the commands to try against `npm start`'s agent. */
export function renderNext(o: { cli: string; traceSql: string | undefined; rollupSql: { pg: string; ch: string }; dir: string; agentLog: string }): string[] {
  const lines: string[] = [];
  if (o.traceSql !== undefined) {
    lines.push('  The trace and its logs above come from this ClickHouse query (and two like it for spans and span_events):');
    for (const l of o.traceSql.split('\n')) lines.push(`    ${l}`);
  }
  lines.push('  and the rollup rows from these (PostgreSQL, then ClickHouse):', `    ${o.rollupSql.pg}`, `    ${o.rollupSql.ch}`);
  lines.push('  With `npm start` running (API on 127.0.0.1:8686, OTLP/HTTP on 127.0.0.1:4318):');
  const hints = columns([
    [`${o.cli} top`, 'per-component rates, errors and queue depth, refreshed'],
    [`${o.cli} tap otlp`, 'events leaving the OTLP receiver, as JSON lines'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318', 'point any OpenTelemetry SDK at it (protocol http/protobuf or http/json)'],
    [`echo '{"level":"info","message":"hi"}' >> var/log/app.log`, 'JSON lines in ./var/log/*.log land in ClickHouse logs_events'],
    [
      `curl -d '{"type":"deploy","time":${Date.now()},"payload":{"version":"1.0"}}' -H 'content-type: application/json' 127.0.0.1:8688/v1/events`,
      'a business event; `thermocline schemas list` shows the registered types',
    ],
  ]);
  for (const l of hints) lines.push(`    ${l}`);
  lines.push(`  The demo's data stays in ${o.dir} (cleared by the next demo); its agent's log is ${o.agentLog}.`);
  return lines;
}

/** The events in events_generic, the rows of the typed table, and the refused event with its errors. */
export function renderBusinessEvents(
  found: { generic: ReadonlyArray<{ type: string; severity: string; payload: unknown }>; typed: ReadonlyArray<Record<string, unknown>> },
  refused: readonly Refusal[],
  table: string,
): string[] {
  const lines = ['  events_generic (every event, payload as JSONB):'];
  for (const l of columns(
    found.generic.map((e) => [e.type, e.severity, JSON.stringify(e.payload)]),
    ['l', 'l', 'l'],
  ))
    lines.push(`    ${l}`);
  lines.push(`  ${table} (created on first use, a column per schema property):`);
  const keys = Object.keys(found.typed[0] ?? {});
  for (const l of columns(
    [keys, ...found.typed.map((r) => keys.map((k) => (r[k] === null ? 'null' : String(r[k]))))],
    keys.map(() => 'l' as const),
  ))
    lines.push(`    ${l}`);
  for (const r of refused) {
    lines.push(`  refused (422), event #${r.index} of the request, type ${r.type ?? '?'}:`);
    for (const e of r.errors) lines.push(`    ${e.pointer}: ${e.message}`);
  }
  return lines;
}
