import type { TelemetryEvent } from '../events.js';
import { Encoder, sealBatch, writeBatchHeader } from './batch.js';
import { Kind } from './layout.js';
import { ByteWriter } from './writer.js';

/** The string fields of a log, in the order the encoding holds them (`BatchWriter.string/bytes`). */
const LOG_FIELDS = 6;
/** Values up to this many bytes are copied by a loop: a native copy costs more than the bytes (see `copy`). */
const LOOP_COPY_MAX = 64;
/** Between `startLog` and the last label: which part of the log comes next. */
const enum Step {
  Idle = -1,
  /** 0..5: the string fields; then: */
  Labels = LOG_FIELDS,
  LabelPairs = LOG_FIELDS + 1,
}

/**
 * Builds one batch in the queue's encoding (batch.ts) from whole events and from logs whose
 * strings are given as byte ranges of a buffer they were read from (a JSON line's values), so that a
 * source can hand over a batch without making a string or an object per value
 * (docs/ARCHITECTURE.md#batches-taken-as-they-arrived). What it writes decodes to the same events as
 * `encodeBatch` of the same logs; the bytes may differ, since a value given as bytes is compared with
 * the previous value of its field byte by byte, and a run of logs given as bytes starts without any
 * repeat state from the whole events before it, and the other way round.
 *
 * A log is written field by field, in the encoding's order:
 * `startLog(time)`, then service, host, level, trace id, span id and message, each as `string` or
 * `bytes`, then `labels(n)` and n pairs of `label`/`labelBytes`. Calls out of that order throw.
 */
export class BatchWriter {
  private readonly w = new ByteWriter();
  private enc = new Encoder(this.w);
  private n = 0;
  /** Whether the last thing written was a log given by parts (its repeat state is ours, not the Encoder's). */
  private byParts = false;
  private step: number = Step.Idle;
  private pairsLeft = 0;
  /** The previous value of each log field, as a string (when it was given as one) and as the range it was written to. */
  private readonly fieldText: Array<string | undefined> = new Array<string | undefined>(LOG_FIELDS);
  private readonly fieldStart = new Array<number>(LOG_FIELDS).fill(-1);
  private readonly fieldEnd = new Array<number>(LOG_FIELDS).fill(-1);
  /** The same per dictionary key, for label values. */
  private readonly valueText: Array<string | undefined> = [];
  private readonly valueStart: number[] = [];
  private readonly valueEnd: number[] = [];

  /** Events written since the last `finish`. */
  get count(): number {
    return this.n;
  }

  /** Bytes written since the last `finish` (without the header). */
  get size(): number {
    return this.w.off;
  }

  /** A whole event. */
  add(event: TelemetryEvent): void {
    if (this.step !== Step.Idle) throw new Error('BatchWriter.add inside a log that is not finished');
    if (this.byParts) {
      this.enc.forget();
      this.byParts = false;
    }
    this.enc.event(event);
    this.n++;
  }

  /** Starts a log given by parts; its strings follow with `string` or `bytes`. */
  startLog(time_us: number): void {
    if (this.step !== Step.Idle) throw new Error('BatchWriter.startLog inside a log that is not finished');
    if (!this.byParts) {
      this.fieldText.fill(undefined);
      this.fieldStart.fill(-1);
      this.valueText.length = 0;
      this.valueStart.length = 0;
      this.valueEnd.length = 0;
      this.byParts = true;
    }
    this.w.u8(Kind.Log);
    this.w.f64(time_us);
    this.step = 0;
  }

  /** The next string field of the log, as a string. */
  string(s: string): void {
    const f = this.field('string');
    if (this.fieldText[f] === s) {
      this.w.u8(0);
      return;
    }
    this.fieldText[f] = s;
    this.fieldStart[f] = this.str(s);
    this.fieldEnd[f] = this.w.off;
  }

  /**
   * The next string field of the log, as the UTF-8 bytes `data[start, end)`; `ascii` says they are
   * all ASCII (false is always correct, true only when it is so). `lower`: fold A–F to a–f, for
   * hex ids (the bytes must then be ASCII).
   */
  bytes(data: Buffer, start: number, end: number, ascii: boolean, lower = false): void {
    const f = this.field('bytes');
    if (this.same(this.fieldStart[f] as number, this.fieldEnd[f] as number, data, start, end, lower)) {
      this.w.u8(0);
      return;
    }
    this.fieldText[f] = undefined;
    this.copy(data, start, end, ascii, lower);
    this.fieldEnd[f] = this.w.off;
    this.fieldStart[f] = this.w.off - (end - start);
  }

  /** After the message: how many labels follow. */
  labels(n: number): void {
    if (this.step !== Step.Labels) throw new Error('BatchWriter.labels before the six string fields of the log');
    this.w.varint(n + 1);
    this.pairsLeft = n;
    this.step = Step.LabelPairs;
    if (n === 0) this.endLog();
  }

  /** A label whose value is a string. Keys must not repeat within a log. */
  label(key: string, value: string): void {
    const k = this.pair(key);
    if (this.valueText[k] === value) this.w.u8(0);
    else {
      this.valueText[k] = value;
      this.valueStart[k] = this.str(value);
      this.valueEnd[k] = this.w.off;
    }
    if (--this.pairsLeft === 0) this.endLog();
  }

  /** A label whose value is the UTF-8 bytes `data[start, end)` (`ascii` as for `bytes`). */
  labelBytes(key: string, data: Buffer, start: number, end: number, ascii: boolean): void {
    const k = this.pair(key);
    if (this.same(this.valueStart[k] ?? -1, this.valueEnd[k] ?? -1, data, start, end, false)) this.w.u8(0);
    else {
      this.valueText[k] = undefined;
      this.copy(data, start, end, ascii, false);
      this.valueEnd[k] = this.w.off;
      this.valueStart[k] = this.w.off - (end - start);
    }
    if (--this.pairsLeft === 0) this.endLog();
  }

  /**
   * The batch so far, in a buffer of its own (safe to keep and to hand to `emitEncoded`); the writer
   * starts a new batch.
   */
  finish(): Buffer {
    if (this.step !== Step.Idle) throw new Error('BatchWriter.finish inside a log that is not finished');
    const body = this.w.bytes();
    const head = new ByteWriter(16);
    writeBatchHeader(head, this.n);
    const out = Buffer.allocUnsafe(head.off + body.length);
    head.bytes().copy(out, 0);
    body.copy(out, head.off);
    sealBatch(out);
    this.w.reset();
    this.enc = new Encoder(this.w);
    this.n = 0;
    this.byParts = false;
    return out;
  }

  private field(what: string): number {
    const f = this.step;
    if (f < 0 || f >= LOG_FIELDS) throw new Error(`BatchWriter.${what} outside the string fields of a log`);
    this.step = f + 1;
    return f;
  }

  private pair(key: string): number {
    if (this.step !== Step.LabelPairs || this.pairsLeft <= 0) throw new Error('BatchWriter: more labels than `labels(n)` announced');
    return this.enc.key(key);
  }

  private endLog(): void {
    this.step = Step.Idle;
    this.n++;
  }

  /** Whether the bytes written at `out[prevStart, prevEnd)` equal `data[start, end)` (folded when `lower`). Compared from the end: ids and messages differ there first. */
  private same(prevStart: number, prevEnd: number, data: Buffer, start: number, end: number, lower: boolean): boolean {
    if (prevStart < 0 || prevEnd - prevStart !== end - start) return false;
    const out = this.w.buf;
    for (let i = end - start - 1; i >= 0; i--) {
      let c = data[start + i] as number;
      if (lower && c >= 65 && c <= 70) c += 32;
      if (out[prevStart + i] !== c) return false;
    }
    return true;
  }

  /** `ByteWriter.str`, returning where the string's bytes start (after its tag, whose width varies). */
  private str(s: string): number {
    let o = this.w.off;
    this.w.str(s);
    const out = this.w.buf;
    while ((out[o] as number) >= 0x80) o++;
    return o + 1;
  }

  /** A string's tag (`ByteWriter.str`) and its bytes. */
  private copy(data: Buffer, start: number, end: number, ascii: boolean, lower: boolean): void {
    const w = this.w;
    const len = end - start;
    w.varint(len * 2 + (ascii ? 1 : 0) + 1);
    w.ensure(len);
    const out = w.buf;
    let o = w.off;
    if (lower) {
      for (let i = start; i < end; i++) {
        const c = data[i] as number;
        out[o++] = c >= 65 && c <= 70 ? c + 32 : c;
      }
    } else if (len <= LOOP_COPY_MAX) {
      // One `Buffer.copy` is a call into native code and costs as much as making the string would.
      for (let i = start; i < end; i++) out[o++] = data[i] as number;
    } else {
      o += data.copy(out, o, start, end);
    }
    w.off = o;
  }
}
