/**
 * A reader of the queue's batch encoding (batch.ts) that yields each event's fields in place,
 * without building a TelemetryEvent: strings are byte ranges of the batch, label sets are lists of
 * (dictionary key, value range). It is the one reader of the format: `decodeBatch` builds its
 * events from it, and sinks that write a binary format (the clickhouse sink's RowBinary) copy the
 * UTF-8 bytes straight from the batch.
 *
 * A repeated string keeps the range it had in the previous event (the batch's repeat slots, see
 * batch.ts), so a range's `start` names one string of the batch: a consumer may cache what it built
 * from a field by its start offset. A repeated label set keeps its `LabelSet` object and `gen`.
 *
 * The cursor trusts a batch whose checksum was checked (`verifyBatch`); a malformed one makes it
 * throw a RangeError, which callers turn into a CorruptBatchError.
 */
import type { MetricType, SpanStatusCode } from '../events.js';
import { HEADER, Kind, LabelSlot, METRIC_TYPES, STATUS, Slot, VERSION_UNCHECKED } from './layout.js';
import { ByteReader } from './writer.js';

/** The string fields of the events, for `BatchCursor.start/end/text`. */
export const BatchField = {
  logService: Slot.LogService,
  logHost: Slot.LogHost,
  logLevel: Slot.LogLevel,
  logTraceId: Slot.LogTrace,
  logSpanId: Slot.LogSpan,
  logMessage: Slot.LogMessage,
  metricName: Slot.MetricName,
  spanTraceId: Slot.SpanTrace,
  spanId: Slot.SpanId,
  spanParentId: Slot.SpanParent,
  spanService: Slot.SpanService,
  spanName: Slot.SpanName,
  spanStatusMessage: Slot.SpanStatusMessage,
  spanEventName: Slot.SpanEventName,
  eventType: Slot.EventType,
  eventService: Slot.EventService,
  eventSeverity: Slot.EventSeverity,
  /** The payload as the JSON text it was queued as. */
  eventPayload: Slot.EventPayload,
  eventId: Slot.EventId,
} as const;
export type BatchField = (typeof BatchField)[keyof typeof BatchField];

/** The label sets of the events, for `BatchCursor.labels`. */
export const BatchLabels = {
  log: LabelSlot.Log,
  metric: LabelSlot.Metric,
  spanAttr: LabelSlot.SpanAttr,
  spanEventAttr: LabelSlot.SpanEventAttr,
} as const;
export type BatchLabels = (typeof BatchLabels)[keyof typeof BatchLabels];

/** One label set: pair i is dictionary key `keys[i]` (`BatchCursor.keyStart/keyEnd`) and the value `starts[i]..ends[i]`. */
export interface LabelSet {
  size: number;
  readonly keys: number[];
  readonly starts: number[];
  readonly ends: number[];
  readonly ascii: number[];
  /** Changes when the set does (a repeated set keeps it). */
  gen: number;
}

export type CursorKind = 'log' | 'metric' | 'span' | 'event';

type NativeSlices = Buffer & { utf8Slice(start: number, end: number): string; latin1Slice(start: number, end: number): string };

export class BatchCursor {
  readonly buf: Buffer;
  /** Events in the batch. */
  readonly count: number;
  /** The current event's index in the batch (-1 before the first `next()`). */
  index = -1;
  kind: CursorKind = 'log';

  /** Logs, metrics, business events. */
  time_us = 0;
  /** Spans. */
  start_us = 0;
  end_us = 0;
  duration_ns = 0;
  statusCode: SpanStatusCode = 'UNSET';
  /** Span events of the current span not yet read with `nextSpanEvent()`. */
  spanEventsLeft = 0;
  spanEventCount = 0;
  /** The span event read last. */
  spanEventTime = 0;
  /** Metrics: points have `value`, histograms `histCount`, `histSum` and buckets. */
  metricType: MetricType = 'gauge';
  value = 0;
  histCount = 0;
  histSum = 0;
  bucketCount = 0;
  readonly bucketKeys: number[] = [];
  readonly bucketValues: number[] = [];
  /** Business events: whether it carries an `id` (`BatchField.eventId`). */
  hasId = false;

  /** Per string field (BatchField): its byte range and whether it is ASCII. An unset field is empty. */
  readonly starts = new Int32Array(Slot.Count).fill(-1);
  readonly ends = new Int32Array(Slot.Count).fill(-1);
  readonly asciis = new Uint8Array(Slot.Count);
  private readonly sets: LabelSet[] = Array.from({ length: LabelSlot.Count }, () => ({ size: 0, keys: [], starts: [], ends: [], ascii: [], gen: 0 }));
  /** The label key dictionary. */
  readonly keyStarts: number[] = [];
  readonly keyEnds: number[] = [];
  private readonly keyAscii: number[] = [];
  /** The last value of each key. */
  private readonly lastStart: number[] = [];
  private readonly lastEnd: number[] = [];
  private readonly lastAscii: number[] = [];
  private readonly r: ByteReader;

  /** `buf` must be a whole batch; `verifyBatch` checks it first where it may be damaged. */
  constructor(buf: Buffer) {
    this.r = new ByteReader(buf);
    this.buf = this.r.buf;
    this.r.off = buf[1] === VERSION_UNCHECKED ? 2 : HEADER;
    this.count = this.r.varint();
  }

  /** Whether the batch ended exactly after its last event. */
  get atEnd(): boolean {
    return this.r.off === this.buf.length;
  }

  /** The text of a byte range of the batch. */
  slice(start: number, end: number, ascii: boolean): string {
    if (end <= start) return '';
    const b = this.buf as NativeSlices;
    return ascii ? b.latin1Slice(start, end) : b.utf8Slice(start, end);
  }

  /** The current value of a string field as text. */
  text(field: BatchField): string {
    return this.slice(this.starts[field] as number, this.ends[field] as number, this.asciis[field] === 1);
  }

  labels(slot: BatchLabels): LabelSet {
    return this.sets[slot] as LabelSet;
  }

  keyText(key: number): string {
    return this.slice(this.keyStarts[key] as number, this.keyEnds[key] as number, this.keyAscii[key] === 1);
  }

  valueText(set: LabelSet, i: number): string {
    return this.slice(set.starts[i] as number, set.ends[i] as number, set.ascii[i] === 1);
  }

  /** Moves to the next event (skipping what is left of the current span's events); false at the end. */
  next(): boolean {
    while (this.spanEventsLeft > 0) this.nextSpanEvent();
    if (this.index + 1 >= this.count) return false;
    this.index++;
    const r = this.r;
    const kind = r.u8();
    switch (kind) {
      case Kind.Log:
        this.kind = 'log';
        this.time_us = r.f64();
        this.s(Slot.LogService);
        this.s(Slot.LogHost);
        this.s(Slot.LogLevel);
        this.s(Slot.LogTrace);
        this.s(Slot.LogSpan);
        this.s(Slot.LogMessage);
        this.readLabels(LabelSlot.Log);
        return true;
      case Kind.Metric: {
        this.kind = 'metric';
        const type = METRIC_TYPES[r.u8()];
        if (type === undefined) throw new RangeError('unknown metric type in batch');
        this.metricType = type;
        this.s(Slot.MetricName);
        this.readLabels(LabelSlot.Metric);
        this.time_us = r.f64();
        if (type === 'histogram') this.histogram();
        else this.value = r.f64();
        return true;
      }
      case Kind.Span:
        this.kind = 'span';
        this.s(Slot.SpanTrace);
        this.s(Slot.SpanId);
        this.s(Slot.SpanParent);
        this.s(Slot.SpanService);
        this.s(Slot.SpanName);
        this.start_us = r.f64();
        this.end_us = r.f64();
        this.duration_ns = r.f64();
        this.statusCode = STATUS[r.u8()] ?? 'UNSET';
        this.s(Slot.SpanStatusMessage);
        this.readLabels(LabelSlot.SpanAttr);
        this.spanEventCount = this.spanEventsLeft = r.varint();
        return true;
      case Kind.Event:
      case Kind.EventWithId:
        this.kind = 'event';
        this.time_us = r.f64();
        this.s(Slot.EventType);
        this.s(Slot.EventService);
        this.s(Slot.EventSeverity);
        this.s(Slot.EventPayload);
        this.hasId = kind === Kind.EventWithId;
        if (this.hasId) this.s(Slot.EventId);
        return true;
      default:
        throw new RangeError(`unknown event kind ${kind} in batch`);
    }
  }

  /** Reads the current span's next event: `spanEventTime`, `BatchField.spanEventName`, `BatchLabels.spanEventAttr`. */
  nextSpanEvent(): void {
    if (this.spanEventsLeft <= 0) throw new RangeError('no span event left');
    this.spanEventsLeft--;
    this.spanEventTime = this.r.f64();
    this.s(Slot.SpanEventName);
    this.readLabels(LabelSlot.SpanEventAttr);
  }

  /** Range of the string read last by `body`. */
  private rs = 0;
  private re = 0;
  private ra = 0;

  /** Reads a string's bytes, its tag `(byteLength << 1 | ascii) + 1` already read, into `rs`/`re`/`ra`. */
  private body(tag: number): void {
    const r = this.r;
    const t = tag - 1;
    const end = r.off + Math.floor(t / 2);
    if (t < 0 || end > this.buf.length) throw new RangeError('batch truncated');
    this.rs = r.off;
    this.re = end;
    this.ra = t % 2;
    r.off = end;
  }

  private s(slot: Slot): void {
    const tag = this.r.varint();
    if (tag === 0) return;
    this.body(tag);
    this.starts[slot] = this.rs;
    this.ends[slot] = this.re;
    this.asciis[slot] = this.ra;
  }

  /** A dictionary key's index; a new key comes as 0 and its string. */
  private key(): number {
    const tag = this.r.varint();
    if (tag > 0) {
      if (tag > this.keyStarts.length) throw new RangeError('batch dictionary index out of range');
      return tag - 1;
    }
    this.body(this.r.varint());
    this.keyStarts.push(this.rs);
    this.keyEnds.push(this.re);
    this.keyAscii.push(this.ra);
    return this.keyStarts.length - 1;
  }

  private readLabels(slot: LabelSlot): void {
    const tag = this.r.varint();
    if (tag === 0) return;
    const set = this.sets[slot] as LabelSet;
    set.size = tag - 1;
    set.gen++;
    for (let i = 0; i < set.size; i++) {
      const k = this.key();
      const vtag = this.r.varint();
      if (vtag === 0) {
        if (this.lastStart[k] === undefined) throw new RangeError('batch repeats a label value it never sent');
      } else {
        this.body(vtag);
        this.lastStart[k] = this.rs;
        this.lastEnd[k] = this.re;
        this.lastAscii[k] = this.ra;
      }
      set.keys[i] = k;
      set.starts[i] = this.lastStart[k] as number;
      set.ends[i] = this.lastEnd[k] as number;
      set.ascii[i] = this.lastAscii[k] as number;
    }
  }

  private histogram(): void {
    const r = this.r;
    this.histCount = r.f64();
    this.histSum = r.f64();
    const n = r.varint();
    this.bucketCount = n;
    for (let i = 0; i < n; i++) {
      this.bucketKeys[i] = this.key();
      this.bucketValues[i] = r.f64();
    }
  }
}
