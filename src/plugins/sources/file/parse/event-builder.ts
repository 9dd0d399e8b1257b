import type { BatchWriter, Labels, LogEvent } from '../../../../index.js';
import type { FileConfig, FileFieldsConfig } from '../config.js';
import { decodeLine } from '../decode.js';
import { JsonBytes, JsonType } from './json-bytes.js';
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

/** `hexCase` of the bytes `data[start, end)`, a string value of a line. */
function hexCaseOfBytes(data: Buffer, start: number, end: number, n: number): Hex {
  if (end - start !== n) return Hex.No;
  let found = Hex.Lower;
  for (let i = start; i < end; i++) {
    const c = data[i] as number;
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
  /** Per record: the index of the key chosen for each field (-1: none) and its rank (reused, not reallocated). */
  private readonly chosen = new Int32Array(Field.Count);
  private readonly rank = new Int32Array(Field.Count);
  /** The record being mapped, as keys and values in the record's order (reused, not reallocated). */
  private readonly keys: string[] = [];
  private readonly values: unknown[] = [];
  private readonly reader = new JsonBytes();
  /**
   * `assign`: the record indices that become labels, in the order they become labels. Arrays that
   * grow: a record parsed by `JSON.parse` or logfmt may have any number of keys.
   */
  private readonly order: number[] = [];
  /** `assign`: the role (`roles`, or -1) of the key last seen at each place of a line. */
  private readonly roleKeys: string[] = [];
  private readonly roleAt: number[] = [];
  /** The line `fromBytes` is mapping, decoded only when it becomes the message. */
  private bytes: Buffer = Buffer.alloc(0);
  private bytesStart = 0;
  private bytesEnd = 0;
  private bytesAscii = true;
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
   * With `format = "json"`: the event of a line given as file bytes (`ascii`: all ASCII, otherwise
   * valid UTF-8), without decoding the line or parsing it into an object; undefined when the line
   * is not a flat record this path reads exactly (json-bytes.ts), and `build` takes it instead.
   */
  fromBytes(data: Buffer, start: number, end: number, ascii: boolean, path: string, readUs: number): LogEvent | undefined {
    const r = this.reader;
    if (!r.read(data, start, end, ascii)) return undefined;
    this.bytes = data;
    this.bytesStart = start;
    this.bytesEnd = end;
    this.bytesAscii = ascii;
    return this.mapped(r.keys, r.values, r.count, undefined, path, readUs);
  }

  /**
   * Whether `encodeBytes` may be used: a path label that an object would not keep in insertion order
   * (an integer-like key goes first) or at all (`__proto__`) leaves every line to `fromBytes`.
   */
  get encodesBytes(): boolean {
    return !/^\d/.test(this.pathLabel) && this.pathLabel !== '__proto__';
  }

  /**
   * `fromBytes`, written straight into `w` instead of made into an event: the line's values are
   * copied from its bytes, and only the timestamp, the level and values that are not strings become
   * strings. What it writes decodes to the event `fromBytes` would return, label order included
   * (the mapping is `mapped`'s, step by step). False, having written nothing, when `fromBytes`
   * would return undefined.
   */
  encodeBytes(data: Buffer, start: number, end: number, ascii: boolean, path: string, readUs: number, w: BatchWriter): boolean {
    const r = this.reader;
    if (!r.read(data, start, end, ascii, false)) return false;
    const keys = r.keys;
    const chosen = this.chosen;
    const order = this.order;
    let m = this.assign(keys, r.count);
    let time_us = readUs;
    const ts = chosen[Field.Timestamp] as number;
    if (ts >= 0) {
      const t = parseTimestamp(r.value(ts), this.timestampFormat);
      if (t === undefined) {
        this.counts.badTimestamps++;
        order[m++] = ts; // keep the unreadable value
      } else time_us = t;
    }
    const types = r.types;
    const starts = r.starts;
    const ends = r.ends;
    const trace = chosen[Field.TraceId] as number;
    const traceHex = trace >= 0 && types[trace] === JsonType.String ? hexCaseOfBytes(data, starts[trace] as number, ends[trace] as number, 32) : Hex.No;
    if (trace >= 0 && traceHex === Hex.No) order[m++] = trace;
    const span = chosen[Field.SpanId] as number;
    const spanHex = span >= 0 && types[span] === JsonType.String ? hexCaseOfBytes(data, starts[span] as number, ends[span] as number, 16) : Hex.No;
    if (span >= 0 && spanHex === Hex.No) order[m++] = span;
    // The path label takes the place of a label of the same name, or comes last.
    let pathAt = -1;
    if (this.pathLabel !== '') {
      for (let j = 0; j < m && pathAt < 0; j++) if (keys[order[j] as number] === this.pathLabel) pathAt = j;
      if (pathAt < 0) pathAt = m++;
    }
    const levelAt = chosen[Field.Level] as number;
    const level = levelAt < 0 ? '' : normalizeLevel(r.value(levelAt));
    // Nothing below can throw: a log started and not finished would leave the batch unfinishable.
    w.startLog(time_us);
    const service = chosen[Field.Service] as number;
    if (service < 0) w.string(this.service);
    else this.writeValue(w, service, data, ascii);
    w.string(this.host);
    w.string(level);
    if (traceHex === Hex.No) w.string('');
    else w.bytes(data, starts[trace] as number, ends[trace] as number, true, traceHex === Hex.Upper);
    if (spanHex === Hex.No) w.string('');
    else w.bytes(data, starts[span] as number, ends[span] as number, true, spanHex === Hex.Upper);
    const msg = chosen[Field.Message] as number;
    if (msg >= 0) this.writeValue(w, msg, data, ascii);
    else w.bytes(data, start, end, ascii);
    w.labels(m);
    for (let j = 0; j < m; j++) {
      if (j === pathAt) {
        w.label(this.pathLabel, path);
        continue;
      }
      const i = order[j] as number;
      const key = keys[i] as string;
      const type = types[i] as JsonType;
      if (type === JsonType.String || type === JsonType.CanonicalNumber) w.labelBytes(key, data, starts[i] as number, ends[i] as number, ascii);
      else w.label(key, stringify(r.value(i)));
    }
    return true;
  }

  /** A value of the line read by `encodeBytes` as the next string field, as `stringify` makes it. */
  private writeValue(w: BatchWriter, i: number, data: Buffer, ascii: boolean): void {
    const r = this.reader;
    const type = r.types[i] as JsonType;
    if (type === JsonType.String || type === JsonType.CanonicalNumber) w.bytes(data, r.starts[i] as number, r.ends[i] as number, ascii);
    else w.string(stringify(r.value(i)));
  }

  /** A parsed record (JSON.parse, logfmt) as keys and values, then mapped. */
  private record(rec: Record<string, unknown>, line: string, path: string, readUs: number): LogEvent {
    const keys = this.keys;
    const values = this.values;
    let n = 0;
    // `for…in` visits the same keys in the same order as `Object.keys` (a parsed record has no
    // inherited enumerable ones) without allocating their array for every line.
    for (const k in rec) {
      keys[n] = k;
      values[n++] = rec[k];
    }
    return this.mapped(keys, values, n, line, path, readUs);
  }

  /**
   * Which of the record's keys becomes which event field (`chosen`), and the others in the order they
   * become labels (`order`; returns how many): a key displaced by a name tried earlier becomes a
   * label where it is displaced. `mapped` and `encodeBytes` both map a record with it, so that their
   * labels come in the same order. A key's role is looked up once while the keys repeat: the byte
   * reader hands back the very key strings of the line before.
   */
  private assign(keys: readonly string[], n: number): number {
    const chosen = this.chosen;
    const rank = this.rank;
    const roles = this.roles;
    const roleKeys = this.roleKeys;
    const roleAt = this.roleAt;
    const order = this.order;
    let m = 0;
    chosen.fill(-1);
    for (let i = 0; i < n; i++) {
      const key = keys[i] as string;
      if (roleKeys[i] !== key) {
        roleKeys[i] = key;
        roleAt[i] = roles.get(key) ?? -1;
      }
      const role = roleAt[i] as number;
      if (role >= 0) {
        const field = role >> 6;
        const r = role & 63;
        const current = chosen[field] as number;
        if (current < 0 || r < (rank[field] as number)) {
          if (current >= 0) order[m++] = current; // a name tried later
          chosen[field] = i;
          rank[field] = r;
          continue;
        }
      }
      order[m++] = i;
    }
    return m;
  }

  /**
   * Known fields become the event's own; everything else becomes a label. One pass over the
   * record's keys with one map lookup each (`assign`): probing every configured name per line cost
   * more than the rest of the mapping. Nothing is allocated here but the event, its labels and the
   * label values that are not strings already (docs/performance.md#the-file-source-end-to-end-into-clickhouse).
   */
  private mapped(keys: readonly string[], values: readonly unknown[], n: number, line: string | undefined, path: string, readUs: number): LogEvent {
    const chosen = this.chosen;
    const order = this.order;
    let m = this.assign(keys, n);
    let time_us = readUs;
    const ts = chosen[Field.Timestamp] as number;
    if (ts >= 0) {
      const t = parseTimestamp(values[ts], this.timestampFormat);
      if (t === undefined) {
        this.counts.badTimestamps++;
        order[m++] = ts; // keep the unreadable value
      } else time_us = t;
    }
    const trace = chosen[Field.TraceId] as number;
    const traceId = trace < 0 ? undefined : values[trace];
    const traceHex = hexCase(traceId, 32);
    if (trace >= 0 && traceHex === Hex.No) order[m++] = trace;
    const span = chosen[Field.SpanId] as number;
    const spanId = span < 0 ? undefined : values[span];
    const spanHex = hexCase(spanId, 16);
    if (span >= 0 && spanHex === Hex.No) order[m++] = span;
    const labels: Labels = {};
    for (let j = 0; j < m; j++) {
      const i = order[j] as number;
      labels[keys[i] as string] = stringify(values[i]);
    }
    if (this.pathLabel !== '') labels[this.pathLabel] = path;
    const level = chosen[Field.Level] as number;
    const msg = chosen[Field.Message] as number;
    const service = chosen[Field.Service] as number;
    return {
      kind: 'log',
      time_us,
      service: service < 0 ? this.service : stringify(values[service]),
      host: this.host,
      level: level < 0 ? '' : normalizeLevel(values[level]),
      trace_id: idOf(traceId, traceHex),
      span_id: idOf(spanId, spanHex),
      message: msg >= 0 ? stringify(values[msg]) : (line ?? decodeLine(this.bytes, this.bytesStart, this.bytesEnd, this.bytesAscii)),
      labels,
    };
  }
}
