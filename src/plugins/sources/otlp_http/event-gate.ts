/**
 * Validation of OpenTelemetry events (docs/events.md#validation): with `log_events = "events"`,
 * the business events made from log records are checked against the schema registry before they
 * are queued. OTLP cannot refuse one record of a request, so an invalid event, or one of an
 * unregistered type under `unregistered = "dead_letter"`, goes to the dead-letter table with the
 * schema version and every error; the response's `partial_success` counts it.
 */
import {
  type Admission,
  admissionCounters,
  type BusinessEvent,
  EventAdmitter,
  type SchemaRegistry,
  schemaRegistryOf,
  type SourceContext,
  type TelemetryEvent,
} from '../../../index.js';
import type { OtlpHttpConfig } from './config.js';

export interface GatedEvents {
  /** What to queue: every log, and the events that were admitted, in their order. */
  readonly events: TelemetryEvent[];
  /** Recorded in the dead-letter table once `events` are queued. */
  readonly refused: Admission;
}

export class EventGate {
  private registry: SchemaRegistry | undefined;
  private readonly admitter: EventAdmitter;

  constructor(
    private readonly config: OtlpHttpConfig,
    private readonly ctx: SourceContext,
  ) {
    this.admitter = new EventAdmitter({
      unregistered: config.unregistered,
      invalid: 'dead_letter',
      schemaOf: (type) => this.registry?.get(type),
      counters: admissionCounters(ctx.metrics),
    });
  }

  async start(): Promise<void> {
    if (this.config.registry === undefined || this.registry !== undefined) return;
    this.registry = schemaRegistryOf(this.ctx, this.config.registry, this.config.registry_poll_secs);
    await this.registry.start();
  }

  async stop(): Promise<void> {
    await this.registry?.stop();
    this.registry = undefined;
  }

  admit(events: TelemetryEvent[]): GatedEvents {
    const candidates: Array<{ index: number; event: BusinessEvent }> = [];
    events.forEach((e, index) => {
      if (e.kind === 'event') candidates.push({ index, event: e });
    });
    const refused = this.admitter.admit(candidates);
    if (refused.deadLetters.length === 0) return { events, refused };
    const out = new Set<TelemetryEvent>(refused.deadLetters);
    return { events: events.filter((e) => !out.has(e)), refused };
  }

  /** Durable when it returns (the dead-letter table is in the queue database). */
  deadLetter(refused: Admission): void {
    if (refused.deadLetters.length === 0) return;
    this.ctx.deadLetter(refused.deadLetters, refused.deadLetterRows, 'OpenTelemetry events refused by their schema or by unregistered = "dead_letter"');
  }
}
