import { crc32 } from 'node:zlib';
import type { HistogramValue, Labels, MetricType, SpanStatusCode, TelemetryEvent } from '../events.js';
import { CorruptBatchError } from './corrupt.js';
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

const MAGIC = 0x54;
const VERSION = 2;
const VERSION_UNCHECKED = 1;
/** Magic, version byte and CRC-32: the checksum covers the bytes from here on. */
const HEADER = 6;
const enum Kind {
  Log = 1,
  Metric = 2,
  Span = 3,
  Event = 4,
  /** A business event with an `id`; batches written before ids existed hold `Event` only. */
  EventWithId = 5,
}
const enum Slot {
  LogService,
  LogHost,
  LogLevel,
  LogTrace,
  LogSpan,
  LogMessage,
  MetricName,
  SpanTrace,
  SpanId,
  SpanParent,
  SpanService,
  SpanName,
  SpanStatusMessage,
  SpanEventName,
  EventType,
  EventService,
  EventSeverity,
  EventPayload,
  EventId,
  Count,
}
const enum LabelSlot {
  Log,
  Metric,
  SpanAttr,
  SpanEventAttr,
  Count,
}

const METRIC_TYPES: MetricType[] = ['gauge', 'counter', 'summary', 'histogram'];
const METRIC_TYPE_CODE: Record<MetricType, number> = { gauge: 0, counter: 1, summary: 2, histogram: 3 };
const STATUS: SpanStatusCode[] = ['UNSET', 'OK', 'ERROR'];
const STATUS_CODE: Record<SpanStatusCode, number> = { UNSET: 0, OK: 1, ERROR: 2 };

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

class Encoder {
  private readonly prev: string[] = new Array<string>(Slot.Count).fill('');
  private readonly prevLabels: Labels[] = Array.from({ length: LabelSlot.Count }, () => ({}));
  private readonly keys = new Map<string, number>();
  private readonly lastValue: string[] = [];

  constructor(private readonly w: ByteWriter) {}

  private s(slot: Slot, v: string): void {
    if (this.prev[slot] === v) {
      this.w.u8(0);
      return;
    }
    this.prev[slot] = v;
    this.w.str(v);
  }

  /** A dictionary key: its index + 1, or 0 and the string the first time. */
  private key(k: string): number {
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
    if (sameLabels(this.prevLabels[slot] as Labels, labels)) {
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

class Decoder {
  private readonly prev: string[] = new Array<string>(Slot.Count).fill('');
  private readonly prevLabels: Labels[] = Array.from({ length: LabelSlot.Count }, () => ({}));
  private readonly keys: string[] = [];
  private readonly lastValue: string[] = [];

  constructor(private readonly r: ByteReader) {}

  private s(slot: Slot): string {
    const tag = this.r.varint();
    if (tag === 0) return this.prev[slot] as string;
    const v = this.r.strBody(tag - 1);
    this.prev[slot] = v;
    return v;
  }

  private key(): number {
    const tag = this.r.varint();
    if (tag > 0) {
      if (tag > this.keys.length) throw new RangeError('batch dictionary index out of range');
      return tag - 1;
    }
    this.keys.push(this.r.strBody(this.r.varint() - 1));
    return this.keys.length - 1;
  }

  private value(keyIdx: number): string {
    const tag = this.r.varint();
    if (tag === 0) {
      const v = this.lastValue[keyIdx];
      if (v === undefined) throw new RangeError('batch repeats a label value it never sent');
      return v;
    }
    const v = this.r.strBody(tag - 1);
    this.lastValue[keyIdx] = v;
    return v;
  }

  private labels(slot: LabelSlot): Labels {
    const tag = this.r.varint();
    if (tag === 0) return this.prevLabels[slot] as Labels;
    const out: Labels = {};
    for (let i = 1; i < tag; i++) {
      const k = this.key();
      out[this.keys[k] as string] = this.value(k);
    }
    this.prevLabels[slot] = out;
    return out;
  }

  private histogram(): HistogramValue {
    const count = this.r.f64();
    const sum = this.r.f64();
    const n = this.r.varint();
    const buckets: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const k = this.keys[this.key()] as string;
      buckets[k] = this.r.f64();
    }
    return { count, sum, buckets };
  }

  event(): TelemetryEvent {
    const r = this.r;
    const kind = r.u8();
    switch (kind) {
      case Kind.Log: {
        const time_us = r.f64();
        return {
          kind: 'log',
          time_us,
          service: this.s(Slot.LogService),
          host: this.s(Slot.LogHost),
          level: this.s(Slot.LogLevel),
          trace_id: this.s(Slot.LogTrace),
          span_id: this.s(Slot.LogSpan),
          message: this.s(Slot.LogMessage),
          labels: this.labels(LabelSlot.Log),
        };
      }
      case Kind.Metric: {
        const type = METRIC_TYPES[r.u8()];
        if (type === undefined) throw new RangeError('unknown metric type in batch');
        const name = this.s(Slot.MetricName);
        const labels = this.labels(LabelSlot.Metric);
        const time_us = r.f64();
        if (type === 'histogram') return { kind: 'metric', type, name, labels, time_us, histogram: this.histogram() };
        return { kind: 'metric', type, name, labels, time_us, value: r.f64() };
      }
      case Kind.Span: {
        const trace_id = this.s(Slot.SpanTrace);
        const span_id = this.s(Slot.SpanId);
        const parent_span_id = this.s(Slot.SpanParent);
        const service = this.s(Slot.SpanService);
        const name = this.s(Slot.SpanName);
        const start_us = r.f64();
        const end_us = r.f64();
        const duration_ns = r.f64();
        const status_code = STATUS[r.u8()] ?? 'UNSET';
        const status_message = this.s(Slot.SpanStatusMessage);
        const attr = this.labels(LabelSlot.SpanAttr);
        const n = r.varint();
        const events = new Array<{ time_us: number; name: string; attr: Labels }>(n);
        for (let i = 0; i < n; i++) {
          const time_us = r.f64();
          events[i] = { time_us, name: this.s(Slot.SpanEventName), attr: this.labels(LabelSlot.SpanEventAttr) };
        }
        return { kind: 'span', trace_id, span_id, parent_span_id, service, name, start_us, end_us, duration_ns, status_code, status_message, attr, events };
      }
      case Kind.Event:
      case Kind.EventWithId: {
        const time_us = r.f64();
        const type = this.s(Slot.EventType);
        const service = this.s(Slot.EventService);
        const severity = this.s(Slot.EventSeverity);
        const payload = JSON.parse(this.s(Slot.EventPayload)) as Record<string, unknown>;
        if (kind === Kind.Event) return { kind: 'event', time_us, type, service, severity, payload };
        return { kind: 'event', time_us, type, service, severity, payload, id: this.s(Slot.EventId) };
      }
      default:
        throw new RangeError(`unknown event kind ${kind} in batch`);
    }
  }
}

/**
 * Encode into `writer` (reused between calls to avoid garbage) and return a view of its bytes,
 * valid until the writer's next use.
 */
export function encodeBatch(events: readonly TelemetryEvent[], writer = new ByteWriter()): Buffer {
  writer.reset();
  writer.u8(MAGIC);
  writer.u8(VERSION);
  writer.u32(0); // the checksum, written once the body is
  writer.varint(events.length);
  const enc = new Encoder(writer);
  for (const e of events) enc.event(e);
  const out = writer.bytes();
  out.writeUInt32LE(crc32(out.subarray(HEADER)), 2);
  return out;
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
  const { start } = bodyOf(buf);
  try {
    const r = new ByteReader(buf);
    r.off = start;
    const n = r.varint();
    const dec = new Decoder(r);
    const out = new Array<TelemetryEvent>(n);
    for (let i = 0; i < n; i++) out[i] = dec.event();
    if (r.off !== buf.length) throw new RangeError('trailing bytes after batch');
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
