import type { TelemetryEvent } from '../../../index.js';

/** The one-line form of `encoding = "text"` (README, "Behaviour"). */
export function text(e: TelemetryEvent): string {
  const iso = (us: number) => new Date(us / 1000).toISOString();
  switch (e.kind) {
    case 'log':
      return `${iso(e.time_us)} ${e.level.toUpperCase()} ${e.service} ${e.message}`;
    case 'metric':
      return `${iso(e.time_us)} ${e.type} ${e.name}${JSON.stringify(e.labels)} ${e.type === 'histogram' ? `count=${e.histogram.count} sum=${e.histogram.sum}` : e.value}`;
    case 'span':
      return `${iso(e.start_us)} span ${e.service} ${e.name} ${e.duration_ns / 1e6}ms ${e.status_code} trace=${e.trace_id}`;
    case 'event':
      return `${iso(e.time_us)} event ${e.type} ${e.service} ${e.severity} ${JSON.stringify(e.payload)}`;
  }
}
