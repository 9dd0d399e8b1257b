import { crc32 } from 'node:zlib';
import type { HistogramValue, Labels, TelemetryEvent } from '../events.js';
import { CorruptBatchError } from './corrupt.js';
import { type BatchLabels, BatchCursor } from './cursor.js';
import { HEADER, Kind, LabelSlot, MAGIC, METRIC_TYPE_CODE, STATUS_CODE, Slot, VERSION, VERSION_UNCHECKED } from './layout.js';
import { ByteReader, ByteWriter } from './writer.js';

/**
 * The queue's batch encoding. A batch is stored as one blob (docs/ARCHITECTURE.md#data-flow).
 * Events in a batch repeat most of their strings (service, host, level, label sets), so each
 * string field keeps the value it had in the previous event of the batch and a repeat costs one
 * byte. Label keys go through a per-batch dictionary, and each key remembers its last value, so a
 * label set that differs from the previous one only in `seq` costs the new `seq` value. Values are
 * never hashed: a dictionary of values would pay a hash insert for every unique request id or
 * sequence number. Decoding
 * returns shared strings and shared label objects for repeats: events handed to sinks are
 * read-only.
 *
 * Layout: magic 'T', version 2, the CRC-32 of everything after it (4 bytes, little-endian),
 * varint count, then per event a kind byte and its fields. Version 1, written before the
 * checksum, is the same without the CRC; it is still read, so batches queued before an upgrade
 * are delivered after it.
 *
 * Why a checksum: SQLite checks its own pages, not the bytes we store in them. A flipped bit in a
 * blob can still decode (a span name turns into another string) and would be forwarded as if it
 * were good. A batch that fails the check is dead-lettered as corrupt instead (see
 * docs/delivery.md#what-is-not-covered). CRC-32 is node's zlib.crc32, native, about 2 GB/s.
 */

function sameLabels(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/**
 * Writes whole events. Its repeat state (the previous value of each slot, label set and key) is what
 * the decoder will hold at that point; `forget` is for a writer that wrote other values in between
 * (batch-writer.ts), after which nothing is written as a repeat until it is written in full again.
 */
export class Encoder {
  private readonly prev: Array<string | undefined> = new Array<string>(Slot.Count).fill('');
  private readonly prevLabels: Array<Labels | undefined> = Array.from({ length: LabelSlot.Count }, () => ({}));
  private readonly keys = new Map<string, number>();
  private readonly lastValue: Array<string | undefined> = [];

  constructor(private readonly w: ByteWriter) {}

  forget(): void {
    this.prev.fill(undefined);
    this.prevLabels.fill(undefined);
    this.lastValue.length = 0;
  }

  private s(slot: Slot, v: string): void {
    if (this.prev[slot] === v) {
      this.w.u8(0);
      return;
    }
    this.prev[slot] = v;
    this.w.str(v);
  }

  /** A dictionary key: its index + 1, or 0 and the string the first time. Returns the index. */
  key(k: string): number {
    const idx = this.keys.get(k);
    if (idx !== undefined) {
      this.w.varint(idx + 1);
      return idx;
    }
    const next = this.keys.size;
    this.keys.set(k, next);
    this.w.u8(0);
    this.w.str(k);
    return next;
  }

  /** A label value: 0 when it repeats the key's last value, else the string. */
  private value(keyIdx: number, v: string): void {
    if (this.lastValue[keyIdx] === v) {
      this.w.u8(0);
      return;
    }
    this.lastValue[keyIdx] = v;
    this.w.str(v);
  }

  private labels(slot: LabelSlot, labels: Labels): void {
    const prev = this.prevLabels[slot];
    if (prev !== undefined && sameLabels(prev, labels)) {
      this.w.u8(0);
      return;
    }
    this.prevLabels[slot] = labels;
    const keys = Object.keys(labels);
    this.w.varint(keys.length + 1);
    for (const k of keys) this.value(this.key(k), labels[k] as string);
  }

  private histogram(h: HistogramValue): void {
    this.w.f64(h.count);
    this.w.f64(h.sum);
    const keys = Object.keys(h.buckets);
    this.w.varint(keys.length);
    for (const k of keys) {
      this.key(k);
      this.w.f64(h.buckets[k] as number);
    }
  }

  event(e: TelemetryEvent): void {
    const w = this.w;
    switch (e.kind) {
      case 'log':
        w.u8(Kind.Log);
        w.f64(e.time_us);
        this.s(Slot.LogService, e.service);
        this.s(Slot.LogHost, e.host);
        this.s(Slot.LogLevel, e.level);
        this.s(Slot.LogTrace, e.trace_id);
        this.s(Slot.LogSpan, e.span_id);
        this.s(Slot.LogMessage, e.message);
        this.labels(LabelSlot.Log, e.labels);
        return;
      case 'metric':
        w.u8(Kind.Metric);
        w.u8(METRIC_TYPE_CODE[e.type]);
        this.s(Slot.MetricName, e.name);
        this.labels(LabelSlot.Metric, e.labels);
        w.f64(e.time_us);
        if (e.type === 'histogram') this.histogram(e.histogram);
        else w.f64(e.value);
        return;
      case 'span':
        w.u8(Kind.Span);
        this.s(Slot.SpanTrace, e.trace_id);
        this.s(Slot.SpanId, e.span_id);
        this.s(Slot.SpanParent, e.parent_span_id);
        this.s(Slot.SpanService, e.service);
        this.s(Slot.SpanName, e.name);
        w.f64(e.start_us);
        w.f64(e.end_us);
        w.f64(e.duration_ns);
        w.u8(STATUS_CODE[e.status_code]);
        this.s(Slot.SpanStatusMessage, e.status_message);
        this.labels(LabelSlot.SpanAttr, e.attr);
        w.varint(e.events.length);
        for (const se of e.events) {
          w.f64(se.time_us);
          this.s(Slot.SpanEventName, se.name);
          this.labels(LabelSlot.SpanEventAttr, se.attr);
        }
        return;
      case 'event':
        w.u8(e.id === undefined ? Kind.Event : Kind.EventWithId);
        w.f64(e.time_us);
        this.s(Slot.EventType, e.type);
        this.s(Slot.EventService, e.service);
        this.s(Slot.EventSeverity, e.severity);
        this.s(Slot.EventPayload, JSON.stringify(e.payload));
        if (e.id !== undefined) this.s(Slot.EventId, e.id);
        return;
    }
  }
}

/**
 * Builds events from a {@link BatchCursor}. Strings and label sets that the batch repeats are
 * built once and shared: the cache of a field is keyed by the byte offset its value starts at, which
 * names one string of the batch.
 */
class Decoder {
  private readonly at = new Array<number>(Slot.Count).fill(-1);
  private readonly val = new Array<string>(Slot.Count).fill('');
  private readonly setGen = new Array<number>(LabelSlot.Count).fill(-1);
  private readonly setVal: Labels[] = Array.from({ length: LabelSlot.Count }, () => ({}));
  private readonly keyText: string[] = [];
  private readonly valueAt: number[] = [];
  private readonly valueText: string[] = [];

  constructor(private readonly c: BatchCursor) {}

  private s(slot: Slot): string {
    const c = this.c;
    const start = c.starts[slot] as number;
    if (start === this.at[slot]) return this.val[slot] as string;
    const v = c.slice(start, c.ends[slot] as number, c.asciis[slot] === 1);
    this.at[slot] = start;
    this.val[slot] = v;
    return v;
  }

  private key(k: number): string {
    return (this.keyText[k] ??= this.c.keyText(k));
  }

  private labels(slot: LabelSlot): Labels {
    const set = this.c.labels(slot as BatchLabels);
    if (set.gen === this.setGen[slot]) return this.setVal[slot] as Labels;
    const out: Labels = {};
    for (let i = 0; i < set.size; i++) {
      const k = set.keys[i] as number;
      const start = set.starts[i] as number;
      let v: string;
      if (this.valueAt[k] === start) v = this.valueText[k] as string;
      else {
        v = this.c.valueText(set, i);
        this.valueAt[k] = start;
        this.valueText[k] = v;
      }
      out[this.key(k)] = v;
    }
    this.setGen[slot] = set.gen;
    this.setVal[slot] = out;
    return out;
  }

  event(): TelemetryEvent {
    const c = this.c;
    if (!c.next()) throw new RangeError('batch truncated');
    switch (c.kind) {
      case 'log':
        return {
          kind: 'log',
          time_us: c.time_us,
          service: this.s(Slot.LogService),
          host: this.s(Slot.LogHost),
          level: this.s(Slot.LogLevel),
          trace_id: this.s(Slot.LogTrace),
          span_id: this.s(Slot.LogSpan),
          message: this.s(Slot.LogMessage),
          labels: this.labels(LabelSlot.Log),
        };
      case 'metric': {
        const { metricType: type, time_us } = c;
        const name = this.s(Slot.MetricName);
        const labels = this.labels(LabelSlot.Metric);
        if (type !== 'histogram') return { kind: 'metric', type, name, labels, time_us, value: c.value };
        const buckets: Record<string, number> = {};
        for (let i = 0; i < c.bucketCount; i++) buckets[this.key(c.bucketKeys[i] as number)] = c.bucketValues[i] as number;
        return { kind: 'metric', type, name, labels, time_us, histogram: { count: c.histCount, sum: c.histSum, buckets } };
      }
      case 'span': {
        const events = new Array<{ time_us: number; name: string; attr: Labels }>(c.spanEventCount);
        const span = {
          kind: 'span' as const,
          trace_id: this.s(Slot.SpanTrace),
          span_id: this.s(Slot.SpanId),
          parent_span_id: this.s(Slot.SpanParent),
          service: this.s(Slot.SpanService),
          name: this.s(Slot.SpanName),
          start_us: c.start_us,
          end_us: c.end_us,
          duration_ns: c.duration_ns,
          status_code: c.statusCode,
          status_message: this.s(Slot.SpanStatusMessage),
          attr: this.labels(LabelSlot.SpanAttr),
          events,
        };
        for (let i = 0; i < events.length; i++) {
          c.nextSpanEvent();
          events[i] = { time_us: c.spanEventTime, name: this.s(Slot.SpanEventName), attr: this.labels(LabelSlot.SpanEventAttr) };
        }
        return span;
      }
      case 'event': {
        const time_us = c.time_us;
        const type = this.s(Slot.EventType);
        const service = this.s(Slot.EventService);
        const severity = this.s(Slot.EventSeverity);
        const payload = JSON.parse(this.s(Slot.EventPayload)) as Record<string, unknown>;
        if (!c.hasId) return { kind: 'event', time_us, type, service, severity, payload };
        return { kind: 'event', time_us, type, service, severity, payload, id: this.s(Slot.EventId) };
      }
    }
  }
}

/**
 * Encode into `writer` (reused between calls to avoid garbage) and return a view of its bytes,
 * valid until the writer's next use.
 */
export function encodeBatch(events: readonly TelemetryEvent[], writer = new ByteWriter()): Buffer {
  writer.reset();
  writeBatchHeader(writer, events.length);
  const enc = new Encoder(writer);
  for (const e of events) enc.event(e);
  return sealBatch(writer.bytes());
}

/** A batch's header: magic, version, room for the checksum (`sealBatch` writes it), the count. */
export function writeBatchHeader(w: ByteWriter, count: number): void {
  w.u8(MAGIC);
  w.u8(VERSION);
  w.u32(0);
  w.varint(count);
}

/** Writes the checksum into a whole batch (its header, then its events), once they are all written. */
export function sealBatch(batch: Buffer): Buffer {
  batch.writeUInt32LE(crc32(batch.subarray(HEADER)), 2);
  return batch;
}

/**
 * Where a batch's body starts, once its magic, version and checksum are checked; throws
 * {@link CorruptBatchError}. A version-1 batch has no checksum: `checked` is false and only
 * parsing it can tell.
 */
function bodyOf(buf: Buffer): { start: number; checked: boolean } {
  if (buf.length < 2 || buf[0] !== MAGIC) throw new CorruptBatchError('not a Thermocline batch');
  const version = buf[1];
  if (version === VERSION) {
    if (buf.length < HEADER) throw new CorruptBatchError('batch truncated');
    const stored = buf.readUInt32LE(2);
    const actual = crc32(buf.subarray(HEADER));
    if (stored !== actual) throw new CorruptBatchError(`checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`);
    return { start: HEADER, checked: true };
  }
  if (version !== VERSION_UNCHECKED) throw new CorruptBatchError(`unsupported batch version ${version}`);
  return { start: 2, checked: false };
}

/**
 * Decode a queued batch. Every failure is a {@link CorruptBatchError}: a batch whose checksum
 * does not match its bytes, and (for batches written before the checksum) one whose bytes do not
 * parse. The runtime dead-letters such a batch and never forwards it.
 */
export function decodeBatch(buf: Buffer): TelemetryEvent[] {
  bodyOf(buf);
  try {
    const c = new BatchCursor(buf);
    const dec = new Decoder(c);
    const out = new Array<TelemetryEvent>(c.count);
    for (let i = 0; i < c.count; i++) out[i] = dec.event();
    if (!c.atEnd) throw new RangeError('trailing bytes after batch');
    return out;
  } catch (err) {
    throw new CorruptBatchError((err as Error).message, { cause: err });
  }
}

/**
 * What `decodeBatch` checks, without building the events: for sinks that forward batches as
 * queued (`SinkInstance.writeEncoded`). Returns the number of events; throws
 * {@link CorruptBatchError}. The checksum is what makes this cheap: only a batch from before it is
 * parsed.
 */
export function verifyBatch(buf: Buffer): number {
  const { start, checked } = bodyOf(buf);
  if (!checked) return decodeBatch(buf).length;
  try {
    const r = new ByteReader(buf);
    r.off = start;
    return r.varint();
  } catch (err) {
    throw new CorruptBatchError((err as Error).message, { cause: err });
  }
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** Number of events in an encoded batch, without decoding it. */
export function batchCount(buf: Buffer): number {
  const r = new ByteReader(buf);
  r.off = buf[1] === VERSION_UNCHECKED ? 2 : HEADER;
  return r.varint();
}
