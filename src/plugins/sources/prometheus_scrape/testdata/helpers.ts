import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { MetricEvent, TelemetryEvent } from '../../../../index.js';

/** Test helpers shared by the prometheus_scrape tests (real HTTP servers on 127.0.0.1:0). */

export interface TestContext {
  teardown(fn: () => unknown): void;
}

export interface Served {
  url: string;
  port: number;
  /** Every request received, in order. */
  requests: http.IncomingMessage[];
  /** Requests being answered right now, and the most at once. */
  inFlight: { now: number; max: number };
  server: http.Server;
}

/** An HTTP(S) server on 127.0.0.1:0 answering with `handler`, closed at teardown. */
export async function serve(
  t: TestContext,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => unknown,
  tls?: https.ServerOptions,
): Promise<Served> {
  const requests: http.IncomingMessage[] = [];
  const inFlight = { now: 0, max: 0 };
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push(req);
    inFlight.now++;
    inFlight.max = Math.max(inFlight.max, inFlight.now);
    res.on('close', () => inFlight.now--);
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      res.statusCode = 599;
      res.end(String(err));
    });
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/metrics`, port, requests, inFlight, server };
}

export function metrics(events: TelemetryEvent[]): MetricEvent[] {
  return events.filter((e): e is MetricEvent => e.kind === 'metric');
}

/** The synthetic per-scrape series of one instance, in arrival order. */
export function reportSeries(events: TelemetryEvent[], name: 'up' | 'scrape_duration_seconds' | 'scrape_samples_scraped', instance?: string): number[] {
  return metrics(events)
    .filter((e) => e.name === name && (instance === undefined || e.labels.instance === instance))
    .map((e) => (e.type === 'histogram' ? NaN : e.value));
}

/** Events of the first scrape: everything up to and including its `scrape_samples_scraped`. */
export function firstScrape(events: TelemetryEvent[]): MetricEvent[] {
  const all = metrics(events);
  const end = all.findIndex((e) => e.name === 'scrape_samples_scraped');
  return end < 0 ? [] : all.slice(0, end + 1);
}

/** A copy without `time_us` (checked separately), for exact comparisons. */
export function timeless(events: MetricEvent[]): Array<Omit<MetricEvent, 'time_us'>> {
  return events.map(({ time_us: _t, ...rest }) => rest);
}
