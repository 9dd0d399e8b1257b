/**
 * One RowBinary row per table row, read straight from the queued batch (`BatchCursor`): strings
 * and label values are copied as the batch's UTF-8 bytes, no TelemetryEvent is built. The columns and
 * their order are those of tables.ts, the values those the JSON path writes (encode.ts), so both
 * formats store the same rows (rowbinary.test.ts compares them through the embedded engine).
 *
 * `rowEncoder` returns undefined when a column's type is one RowBinary is not written for here (a
 * user's table with, say, an Enum status or a FixedString id): that table stays on the JSON path.
 */
import { type BatchCursor, BatchField, BatchLabels, type LabelSet } from '../../../index.js';
import { BadValue, ChunkWriter, type NumberCodec, numberCodec, numberMapColumn, stringColumn, stringMapColumn, timeCodec } from './rowbinary.js';
import type { TableSchema } from './schema.js';
import type { TableRole } from './tables.js';

/** Writes the cursor's current row (for span_event: the span event read last); throws BadValue. */
export type RowEncoder = (c: BatchCursor, w: ChunkWriter) => void;

interface Columns {
  time(name: string): NumberCodec | undefined;
  number(name: string): NumberCodec | undefined;
  /** A String column: the writer of a field of the cursor. */
  str(name: string): ((c: BatchCursor, w: ChunkWriter, field: BatchField) => void) | undefined;
  text(name: string): ((w: ChunkWriter, s: string) => void) | undefined;
  labels(name: string): boolean;
  numberMap(name: string): NumberCodec | undefined;
}

function columnsOf(schema: TableSchema): Columns {
  const type = (name: string) => schema.types.get(name) ?? '';
  const nullable = (name: string) => stringColumn(type(name))?.nullable;
  return {
    time: (name) => timeCodec(type(name)),
    number: (name) => numberCodec(type(name)),
    str(name) {
      const n = nullable(name);
      if (n === undefined) return undefined;
      return n
        ? (c, w, f) => {
            w.u8(0);
            w.utf8(c.buf, c.starts[f] as number, c.ends[f] as number);
          }
        : (c, w, f) => w.utf8(c.buf, c.starts[f] as number, c.ends[f] as number);
    },
    text(name) {
      const n = nullable(name);
      if (n === undefined) return undefined;
      return n
        ? (w, s) => {
            w.u8(0);
            w.text(s);
          }
        : (w, s) => w.text(s);
    },
    labels: (name) => stringMapColumn(type(name)),
    numberMap: (name) => numberMapColumn(type(name)),
  };
}

function labels(c: BatchCursor, w: ChunkWriter, set: LabelSet): void {
  w.varint(set.size);
  for (let i = 0; i < set.size; i++) {
    const k = set.keys[i] as number;
    w.utf8(c.buf, c.keyStarts[k] as number, c.keyEnds[k] as number);
    w.utf8(c.buf, set.starts[i] as number, set.ends[i] as number);
  }
}

/** `defined` of every codec, or undefined when one column is not covered. */
function all<T extends readonly unknown[]>(...codecs: T): { [K in keyof T]: NonNullable<T[K]> } | undefined {
  return codecs.every((x) => x !== undefined && x !== false) ? (codecs as { [K in keyof T]: NonNullable<T[K]> }) : undefined;
}

export function rowEncoder(role: TableRole, schema: TableSchema): RowEncoder | undefined {
  const col = columnsOf(schema);
  const F = BatchField;
  switch (role) {
    case 'log': {
      const cs = all(
        col.time('timestamp'),
        col.str('service'),
        col.str('host'),
        col.str('level'),
        col.str('trace_id'),
        col.str('span_id'),
        col.str('message'),
        col.labels('labels'),
      );
      if (!cs) return undefined;
      const [time, service, host, level, trace, span, message] = cs;
      return (c, w) => {
        time(w, c.time_us, 'timestamp');
        service(c, w, F.logService);
        host(c, w, F.logHost);
        level(c, w, F.logLevel);
        trace(c, w, F.logTraceId);
        span(c, w, F.logSpanId);
        message(c, w, F.logMessage);
        labels(c, w, c.labels(BatchLabels.log));
      };
    }
    case 'span': {
      const cs = all(
        col.time('start_time'),
        col.time('end_time'),
        col.number('duration_ns'),
        col.str('trace_id'),
        col.str('span_id'),
        col.str('parent_span_id'),
        col.str('service'),
        col.str('name'),
        col.text('status_code'),
        col.str('status_message'),
        col.labels('attr'),
      );
      if (!cs) return undefined;
      const [start, end, duration, trace, span, parent, service, name, status, statusMessage] = cs;
      return (c, w) => {
        start(w, c.start_us, 'start time');
        end(w, c.end_us, 'end time');
        duration(w, c.duration_ns, 'duration_ns');
        trace(c, w, F.spanTraceId);
        span(c, w, F.spanId);
        parent(c, w, F.spanParentId);
        service(c, w, F.spanService);
        name(c, w, F.spanName);
        status(w, c.statusCode);
        statusMessage(c, w, F.spanStatusMessage);
        labels(c, w, c.labels(BatchLabels.spanAttr));
      };
    }
    case 'span_event': {
      const cs = all(col.time('ts'), col.str('trace_id'), col.str('span_id'), col.str('name'), col.labels('attr'));
      if (!cs) return undefined;
      const [ts, trace, span, name] = cs;
      return (c, w) => {
        ts(w, c.spanEventTime, 'span event time');
        trace(c, w, F.spanTraceId);
        span(c, w, F.spanId);
        name(c, w, F.spanEventName);
        labels(c, w, c.labels(BatchLabels.spanEventAttr));
      };
    }
    case 'metric': {
      const cs = all(
        col.time('time'),
        col.number('value'),
        col.number('count'),
        col.number('sum'),
        col.str('metric_name'),
        col.text('type'),
        col.labels('labels'),
        col.numberMap('buckets'),
      );
      if (!cs) return undefined;
      const [time, value, count, sum, name, type, , bucket] = cs;
      return (c, w) => {
        time(w, c.time_us, 'time');
        // Points carry `value`; histograms `count`, `sum` and `buckets` and a value of 0 (encode.ts).
        const histogram = c.metricType === 'histogram';
        value(w, histogram ? 0 : c.value, 'value');
        count(w, histogram ? c.histCount : 0, 'histogram count');
        sum(w, histogram ? c.histSum : 0, 'histogram sum');
        name(c, w, F.metricName);
        type(w, c.metricType);
        labels(c, w, c.labels(BatchLabels.metric));
        const n = histogram ? c.bucketCount : 0;
        w.varint(n);
        for (let i = 0; i < n; i++) {
          const k = c.bucketKeys[i] as number;
          w.utf8(c.buf, c.keyStarts[k] as number, c.keyEnds[k] as number);
          bucket(w, c.bucketValues[i] as number, 'histogram bucket count');
        }
      };
    }
    case 'event': {
      const cs = all(col.time('ts'), col.str('type'), col.str('service'), col.str('severity'), col.str('payload'));
      if (!cs) return undefined;
      const [ts, type, service, severity, payload] = cs;
      return (c, w) => {
        ts(w, c.time_us, 'time');
        type(c, w, F.eventType);
        service(c, w, F.eventService);
        severity(c, w, F.eventSeverity);
        payload(c, w, F.eventPayload);
      };
    }
  }
}

/** Writes one row, or rolls it back and returns why it cannot be written. */
export function writeRow(encode: RowEncoder, c: BatchCursor, w: ChunkWriter): string | undefined {
  const mark = w.off;
  try {
    encode(c, w);
    return undefined;
  } catch (err) {
    if (!(err instanceof BadValue)) throw err;
    w.off = mark;
    return err.message;
  }
}
