import type { MsgHdrs } from 'nats';
import { encodeBatch, encodeOtlpLogs, encodeOtlpMetrics, encodeOtlpTraces, splitBySignal, type TelemetryEvent } from '../../../index.js';
import { NATS_WIRE } from './wire.js';

export type MessageFormat = 'batch' | 'otlp_proto';

/** One message to publish: its body and headers, for a set of events. */
export interface Encoded {
  body: Uint8Array;
  headers: Record<string, string>;
  events: number;
}

/**
 * Encode events as the messages of one format (wire.ts). `batch` gives one message; `otlp_proto`
 * one per signal present (a business event travels as a log record, as the otlp_http sink sends it).
 */
export function encodeMessages(format: MessageFormat, events: readonly TelemetryEvent[]): Encoded[] {
  if (format === 'batch') {
    return [{ body: encodeBatch(events), headers: { [NATS_WIRE.FORMAT_HEADER]: NATS_WIRE.BATCH_FORMAT, [NATS_WIRE.EVENTS_HEADER]: String(events.length) }, events: events.length }];
  }
  const { spans, logs, business, metrics } = splitBySignal(events);
  const otlp = (signal: string, body: Uint8Array, n: number): Encoded => ({
    body,
    headers: { [NATS_WIRE.FORMAT_HEADER]: NATS_WIRE.OTLP_FORMAT, [NATS_WIRE.SIGNAL_HEADER]: signal, 'Content-Type': 'application/x-protobuf', [NATS_WIRE.EVENTS_HEADER]: String(n) },
    events: n,
  });
  const out: Encoded[] = [];
  if (spans.length > 0) out.push(otlp('traces', encodeOtlpTraces(spans), spans.length));
  if (logs.length + business.length > 0) out.push(otlp('logs', encodeOtlpLogs(logs, business), logs.length + business.length));
  if (metrics.length > 0) out.push(otlp('metrics', encodeOtlpMetrics(metrics), metrics.length));
  return out;
}

/** `make` is the client's `headers` (from `loadNats`). */
export function toHeaders(h: Record<string, string>, make: () => MsgHdrs): MsgHdrs {
  const out = make();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}
