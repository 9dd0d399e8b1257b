import { decodeBatch, type EncodedBatch, type TelemetryEvent } from '../../../index.js';

/**
 * A delivery's events, decoded one queued batch at a time as the planner reaches them.
 *
 * The sink takes its deliveries as queued (`writeEncoded`) so that decoding happens inside the
 * streamed COPY of `metrics_points`, overlapping the server's work on the rows already sent. Decoded
 * by the runner instead, a whole delivery (~0.5 µs an event) was decoded while the server had
 * nothing to do: ahead of each delivery's first round trip (measured in bench/postgres-sink.ts).
 * Event indexes are those of the batches' events in order, as the runner numbers rejected rows.
 */
export class DeliveryEvents {
  /** The events decoded so far: a prefix of the delivery. */
  readonly decoded: TelemetryEvent[];
  /** How many events the delivery holds, decoded or not. */
  readonly length: number;
  /** The next batch to decode. */
  private next = 0;

  private constructor(
    private readonly batches: readonly EncodedBatch[],
    decoded: TelemetryEvent[],
    length: number,
  ) {
    this.decoded = decoded;
    this.length = length;
  }

  /** Events decoded already (`write`). */
  static of(events: TelemetryEvent[]): DeliveryEvents {
    return new DeliveryEvents([], events, events.length);
  }

  /** Batches as queued (`writeEncoded`), each checked against its checksum by the runner. */
  static encoded(batches: readonly EncodedBatch[]): DeliveryEvents {
    return new DeliveryEvents(batches, [], batches.reduce((n, b) => n + b.events, 0));
  }

  /** Decodes batches until the first `end` events are decoded (or all are); returns how many are. */
  decodeUntil(end: number): number {
    const { decoded, batches } = this;
    while (decoded.length < end && this.next < batches.length) {
      for (const e of decodeBatch((batches[this.next++] as EncodedBatch).data)) decoded.push(e);
    }
    return decoded.length;
  }

  /** Every event, decoding the rest. */
  all(): readonly TelemetryEvent[] {
    this.decodeUntil(Number.POSITIVE_INFINITY);
    return this.decoded;
  }
}
