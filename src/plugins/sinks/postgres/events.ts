import { decodeBatch, type EncodedBatch, type TelemetryEvent } from '../../../index.js';

/**
 * A delivery's events: decoded already (`write`), or the batches as queued (`writeEncoded`).
 *
 * Queued batches are read by the planner with a `BatchCursor` as the streamed COPY of
 * `metrics_points` reaches them (plan.ts): a point becomes a row straight from the batch bytes,
 * with no event object, and the reading overlaps the server's work on the rows already sent.
 * Decoded by the runner instead, a whole delivery (~0.5 µs an event) was decoded while the server
 * had nothing to do: ahead of each delivery's first round trip (measured in
 * bench/postgres-sink.ts). Event indexes are those of the batches' events in order, as the runner
 * numbers rejected rows.
 */
export class DeliveryEvents {
  /** How many events the delivery holds. */
  readonly length: number;
  private decoded: readonly TelemetryEvent[] | undefined;

  private constructor(
    /** The queued batches, or undefined when the events came decoded. */
    readonly batches: readonly EncodedBatch[] | undefined,
    events: readonly TelemetryEvent[] | undefined,
    length: number,
  ) {
    this.decoded = events;
    this.length = length;
  }

  /** Events decoded already (`write`). */
  static of(events: readonly TelemetryEvent[]): DeliveryEvents {
    return new DeliveryEvents(undefined, events, events.length);
  }

  /** Batches as queued (`writeEncoded`), each checked against its checksum by the runner. */
  static encoded(batches: readonly EncodedBatch[]): DeliveryEvents {
    return new DeliveryEvents(batches, undefined, batches.reduce((n, b) => n + b.events, 0));
  }

  /**
   * Every event, decoding the batches if they came queued: for what needs them all as objects
   * (typed tables, the partitions of a delivery's days), not for the rows of the generic tables.
   */
  all(): readonly TelemetryEvent[] {
    this.decoded ??= (this.batches ?? []).flatMap((b) => decodeBatch(b.data));
    return this.decoded;
  }
}
