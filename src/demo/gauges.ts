/**
 * A gauge with points two to four minutes old. The rollup exporter only copies closed 1-minute
 * buckets (ending at least a minute before now), and an SDK stamps its points with the current
 * time, so these are encoded by hand, as OTLP/protobuf, with the otlp_http sink's encoder.
 */
import type { MetricEvent } from '../core/events.js';
import { sleep } from '../core/runtime/timing.js';
import { encodeMetrics } from '../plugins/sinks/otlp_http/encode/metrics.js';
import { SERVICE } from './checkout.js';
import { DemoError } from './errors.js';

export const GAUGE_METRIC = 'checkout_inflight_requests';
const MINUTE_MS = 60_000;

export function oldGaugePoints(now = Date.now()): MetricEvent[] {
  const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const points: MetricEvent[] = [];
  for (const minutesAgo of [4, 3, 2]) {
    for (const [r, region] of ['eu-west', 'us-east'].entries()) {
      for (const [s, second] of [15, 45].entries()) {
        const time = minute - minutesAgo * MINUTE_MS + second * 1000;
        points.push({
          kind: 'metric',
          type: 'gauge',
          name: GAUGE_METRIC,
          labels: { service: SERVICE, region },
          time_us: time * 1000,
          value: 2 + r * 3 + s * 2 + (4 - minutesAgo),
        });
      }
    }
  }
  return points;
}

/** POSTs one OTLP request, waiting out 429/503 (a full queue) as an SDK would. */
export async function postMetrics(otlp: string, points: MetricEvent[], signal: AbortSignal): Promise<void> {
  const body = encodeMetrics(points);
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${otlp}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body, signal });
    const text = await res.text();
    if (res.ok) return;
    if ((res.status === 429 || res.status === 503) && attempt < 30) {
      const wait = Math.min(10, Number(res.headers.get('retry-after')) || 1);
      if (!(await sleep(wait * 1000, signal))) throw new DemoError('interrupted');
      continue;
    }
    throw new DemoError(`the OTLP receiver at ${otlp} answered ${res.status} to the gauge points: ${text.slice(0, 300)}`);
  }
}
