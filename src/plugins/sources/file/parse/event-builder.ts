import type { Labels, LogEvent } from '../../../../index.js';
import type { FileConfig, FileFieldsConfig } from '../config.js';
import { normalizeLevel } from './level.js';
import { parseLogfmt } from './logfmt.js';
import { parseTimestamp } from './timestamp.js';

/** Problems counted while building events; the source adds them to its metrics per batch. */
export interface ParseCounts {
  /** json/logfmt lines that did not parse and were kept as plain messages. */
  parseErrors: number;
  /** Timestamp fields that could not be read (the read time was used). */
  badTimestamps: number;
}

/** What `hexCase` found: not an id, an id as stored, an id with upper-case digits to fold. */
const enum Hex {
  No,
  Lower,
  Upper,
}

/**
 * Whether `v` is a string of `n` hex digits (trace and span ids), and whether it has upper-case
 * digits: ids are stored lower case (docs/ARCHITECTURE.md#events), and `toLowerCase` copies the
 * string even when nothing changes, so it runs only when something does.
 */
function hexCase(v: unknown, n: number): Hex {
  if (typeof v !== 'string' || v.length !== n) return Hex.No;
  let found = Hex.Lower;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) continue;
    if (c >= 65 && c <= 70) found = Hex.Upper;
    else return Hex.No;
  }
  return found;
}

/** The id to store: `v` as it is, folded to lower case, or '' (it stays a label then). */
function idOf(v: unknown, hex: Hex): string {
  return hex === Hex.Lower ? (v as string) : hex === Hex.Upper ? (v as string).toLowerCase() : '';
}

/** The event fields a record can provide, in the order of `FileFieldsConfig`. */
const enum Field {
  Timestamp,
  Level,
  Message,
  Service,
  TraceId,
  SpanId,
  Count,
}

function stringify(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * Turns a line into a `log` event (docs/ARCHITECTURE.md#events). The plain path is the hot one (a
 * benchmark target of a million lines a second): one object literal per line, nothing else.
 */
export class EventBuilder {
  readonly counts: ParseCounts = { parseErrors: 0, badTimestamps: 0 };
  private readonly service: string;
  private readonly host: string;
  private readonly pathLabel: string;
  private readonly timestampFormat: FileFieldsConfig['timestamp_format'];
  /** Record key → `field * 64 + rank` (rank: its position in the configured list of names). */
  private readonly roles = new Map<string, number>();
  /** Per record: the key chosen for each field and its rank (reused, not reallocated). */
  private readonly chosen: Array<string | undefined> = new Array<string | undefined>(Field.Count);
  private readonly rank: number[] = new Array<number>(Field.Count).fill(0);
  readonly build: (line: string, path: string, readUs: number) => LogEvent;

  constructor(config: Pick<FileConfig, 'format' | 'fields' | 'service' | 'path_label'>, host: string) {
    this.service = config.service;
    this.host = host;
    this.pathLabel = config.path_label;
    const f = config.fields;
    this.timestampFormat = f.timestamp_format;
    [f.timestamp, f.level, f.message, f.service, f.trace_id, f.span_id].forEach((names, field) =>
      names.forEach((name, rank) => {
        if (!this.roles.has(name)) this.roles.set(name, field * 64 + Math.min(rank, 63));
      }),
    );
    this.build = config.format === 'json' ? this.json : config.format === 'logfmt' ? this.logfmt : this.plain;
  }

  private labelsFor(path: string): Labels {
    const labels: Labels = {};
    if (this.pathLabel !== '') labels[this.pathLabel] = path;
    return labels;
  }

  private readonly plain = (line: string, path: string, readUs: number): LogEvent => ({
    kind: 'log',
    time_us: readUs,
    service: this.service,
    host: this.host,
    level: '',
    trace_id: '',
    span_id: '',
    message: line,
    labels: this.labelsFor(path),
  });

  private readonly json = (line: string, path: string, readUs: number): LogEvent => {
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      rec = undefined;
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
      this.counts.parseErrors++;
      return this.plain(line, path, readUs);
    }
    return this.record(rec as Record<string, unknown>, line, path, readUs);
  };

  private readonly logfmt = (line: string, path: string, readUs: number): LogEvent => {
    const rec = parseLogfmt(line);
    if (rec === undefined) {
      this.counts.parseErrors++;
      return this.plain(line, path, readUs);
    }
    return this.record(rec, line, path, readUs);
  };

  /**
   * Known fields become the event's own; everything else becomes a label. One pass over the
   * record's keys with one map lookup each: probing every configured name per line cost more
   * than the rest of the mapping. Nothing is allocated here but the event, its labels and the
   * label values that are not strings already (docs/performance.md#where-the-time-goes).
   */
  private record(rec: Record<string, unknown>, line: string, path: string, readUs: number): LogEvent {
    const chosen = this.chosen;
    const rank = this.rank;
    const roles = this.roles;
    chosen.fill(undefined);
    const labels: Labels = {};
    // `for…in` visits the same keys in the same order as `Object.keys` (a parsed record has no
    // inherited enumerable ones) without allocating their array for every line.
    for (const k in rec) {
      const role = roles.get(k);
      if (role !== undefined) {
        const field = role >> 6;
        const r = role & 63;
        const current = chosen[field];
        if (current === undefined || r < (rank[field] as number)) {
          if (current !== undefined) labels[current] = stringify(rec[current]); // a name tried later
          chosen[field] = k;
          rank[field] = r;
          continue;
        }
      }
      labels[k] = stringify(rec[k]);
    }
    let time_us = readUs;
    const tsKey = chosen[Field.Timestamp];
    if (tsKey !== undefined) {
      const t = parseTimestamp(rec[tsKey], this.timestampFormat);
      if (t === undefined) {
        this.counts.badTimestamps++;
        labels[tsKey] = stringify(rec[tsKey]); // keep the unreadable value
      } else time_us = t;
    }
    const traceKey = chosen[Field.TraceId];
    const traceId = traceKey === undefined ? undefined : rec[traceKey];
    const traceHex = hexCase(traceId, 32);
    if (traceKey !== undefined && traceHex === Hex.No) labels[traceKey] = stringify(traceId);
    const spanKey = chosen[Field.SpanId];
    const spanId = spanKey === undefined ? undefined : rec[spanKey];
    const spanHex = hexCase(spanId, 16);
    if (spanKey !== undefined && spanHex === Hex.No) labels[spanKey] = stringify(spanId);
    if (this.pathLabel !== '') labels[this.pathLabel] = path;
    const levelKey = chosen[Field.Level];
    const msgKey = chosen[Field.Message];
    const serviceKey = chosen[Field.Service];
    return {
      kind: 'log',
      time_us,
      service: serviceKey === undefined ? this.service : stringify(rec[serviceKey]),
      host: this.host,
      level: levelKey === undefined ? '' : normalizeLevel(rec[levelKey]),
      trace_id: idOf(traceId, traceHex),
      span_id: idOf(spanId, spanHex),
      message: msgKey === undefined ? line : stringify(rec[msgKey]),
      labels,
    };
  }
}
