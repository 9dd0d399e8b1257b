import type { BusinessEvent, LogEvent, MetricEvent, SpanEvent, TelemetryEvent } from '../../../../index.js';

/** Events by the OTLP signal that carries them; business events travel as log records. */
export interface BySignal {
  spans: SpanEvent[];
  logs: LogEvent[];
  business: BusinessEvent[];
  metrics: MetricEvent[];
}

/** Sorts a batch by signal, keeping the order within each, for the OTLP encoders. */
export function splitBySignal(events: readonly TelemetryEvent[]): BySignal {
  const out: BySignal = { spans: [], logs: [], business: [], metrics: [] };
  for (const e of events) {
    if (e.kind === 'span') out.spans.push(e);
    else if (e.kind === 'log') out.logs.push(e);
    else if (e.kind === 'event') out.business.push(e);
    else out.metrics.push(e);
  }
  return out;
}
