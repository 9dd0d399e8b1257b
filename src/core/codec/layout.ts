/**
 * The tags of the queue's batch encoding (batch.ts describes the layout), shared by its writer
 * (batch.ts) and its reader (cursor.ts) so that the format has one home.
 */
import type { MetricType, SpanStatusCode } from '../events.js';

export const MAGIC = 0x54;
export const VERSION = 2;
export const VERSION_UNCHECKED = 1;
/** Magic, version byte and CRC-32: the checksum covers the bytes from here on. */
export const HEADER = 6;

export const enum Kind {
  Log = 1,
  Metric = 2,
  Span = 3,
  Event = 4,
  /** A business event with an `id`; batches written before ids existed hold `Event` only. */
  EventWithId = 5,
}

/** String fields that repeat the value they had in the previous event of the batch. */
export const enum Slot {
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

/** Label sets that repeat the previous set of the same slot. */
export const enum LabelSlot {
  Log,
  Metric,
  SpanAttr,
  SpanEventAttr,
  Count,
}

export const METRIC_TYPES: readonly MetricType[] = ['gauge', 'counter', 'summary', 'histogram'];
export const METRIC_TYPE_CODE: Readonly<Record<MetricType, number>> = { gauge: 0, counter: 1, summary: 2, histogram: 3 };
export const STATUS: readonly SpanStatusCode[] = ['UNSET', 'OK', 'ERROR'];
export const STATUS_CODE: Readonly<Record<SpanStatusCode, number>> = { UNSET: 0, OK: 1, ERROR: 2 };
