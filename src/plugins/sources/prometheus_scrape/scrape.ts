import {
  type BoundCounter,
  errorMessage,
  type MetricEvent,
  type MetricPoint,
  type RateLimitedLog,
  ShutdownError,
  type TelemetryEvent,
} from '../../../index.js';
import type { PrometheusScrapeConfig } from './config.js';
import { ScrapeAborted, ScrapeError, type ScrapeClient } from './http.js';
import type { LabelMerger } from './labels.js';
import { EventMapper } from './mapper.js';
import { formatOf } from './negotiation.js';
import { looksLikeExposition, parseExposition, type LineError } from './parser.js';
import type { ScrapeTarget } from './targets.js';
import { PROM_SCRAPE_ERRORS } from './errors.js';

/** Events per emitted batch: a 100k-series target becomes several batches instead of one huge row. */
export const EMIT_CHUNK = 10_000;

export interface BodyEvents {
  events: MetricEvent[];
  /** Samples kept, as Prometheus' `scrape_samples_scraped` counts them. */
  samples: number;
  malformed: number;
  errors: LineError[];
}

export interface BodyOptions {
  fallback: PrometheusScrapeConfig['fallback_format'];
  labels: LabelMerger;
  scrapeTimeUs: number;
  honorTimestamps: boolean;
  dropCreated: boolean;
}

/**
 * The events of one response body. Throws `ScrapeError` (TC_PROM_NOT_EXPOSITION) for a body that
 * is not exposition text at all: a Content-Type we may not read, a body that starts like HTML or
 * JSON, or one in which not a single line is a valid sample while some are not (a
 * malformed line fails that line, a body that is no exposition fails the scrape).
 */
export function eventsFromBody(text: string, contentType: string | undefined, options: BodyOptions): BodyEvents {
  const format = formatOf(contentType, options.fallback);
  const shown = contentType === undefined ? 'no Content-Type' : `Content-Type "${contentType}"`;
  if (format === undefined)
    throw new ScrapeError(
      PROM_SCRAPE_ERRORS.TC_PROM_NOT_EXPOSITION,
      `the target answered with ${shown}, which is neither OpenMetrics nor Prometheus text (fallback_format = "fail")`,
    );
  if (!looksLikeExposition(text)) {
    throw new ScrapeError(
      PROM_SCRAPE_ERRORS.TC_PROM_NOT_EXPOSITION,
      `the body is not exposition text: it starts with ${JSON.stringify(text.trimStart().slice(0, 40))} (${shown})`,
    );
  }
  const mapper = new EventMapper({
    labels: options.labels,
    scrapeTimeUs: options.scrapeTimeUs,
    honorTimestamps: options.honorTimestamps,
    dropCreated: options.dropCreated,
  });
  const result = parseExposition(text, format, mapper);
  if (result.samples === 0 && result.malformed > 0) {
    const first = result.errors[0] as LineError;
    throw new ScrapeError(
      PROM_SCRAPE_ERRORS.TC_PROM_NOT_EXPOSITION,
      `no line of the body is a valid sample (${result.malformed} malformed; line ${first.line}: ${first.message})`,
    );
  }
  return { events: mapper.finish(), samples: result.samples - mapper.dropped, malformed: result.malformed, errors: result.errors };
}

export interface ScraperDeps {
  config: PrometheusScrapeConfig;
  client: ScrapeClient;
  log: RateLimitedLog;
  emit(events: TelemetryEvent[]): Promise<unknown>;
  receivedBytes(bytes: number): void;
  errors(type: 'scrape' | 'parse' | 'emit', n: number): void;
  counters: { scrapes: BoundCounter; failures: BoundCounter; malformedLines: BoundCounter };
}

/** One scrape of one target, from the request to the emitted events. */
export class Scraper {
  constructor(private readonly deps: ScraperDeps) {}

  async scrape(target: ScrapeTarget, labels: LabelMerger, signal: AbortSignal): Promise<void> {
    const { config, client, counters } = this.deps;
    const startMs = Date.now();
    const scrapeTimeUs = startMs * 1000;
    counters.scrapes.inc();
    let events: MetricEvent[] = [];
    let samples = 0;
    let up = 1;
    try {
      const body = await client.fetch(target.url, signal);
      this.deps.receivedBytes(body.wireBytes);
      const result = eventsFromBody(body.text, body.contentType, {
        fallback: config.fallback_format,
        labels,
        scrapeTimeUs,
        honorTimestamps: config.honor_timestamps,
        dropCreated: config.created_samples === 'drop',
      });
      events = result.events;
      samples = result.samples;
      if (result.malformed > 0) this.reportMalformed(target, result);
    } catch (err) {
      if (err instanceof ScrapeAborted) return;
      up = 0;
      this.reportFailure(target, err);
    }
    const durationS = (Date.now() - startMs) / 1000;
    const report = (name: string, value: number): MetricPoint => ({
      kind: 'metric',
      name,
      labels: labels.targetOnly(),
      time_us: scrapeTimeUs,
      type: 'gauge',
      value,
    });
    // The synthetic series Prometheus writes for every scrape, with the target's labels.
    events.push(report('up', up), report('scrape_duration_seconds', durationS), report('scrape_samples_scraped', samples));
    try {
      if (events.length <= EMIT_CHUNK) await this.deps.emit(events);
      else for (let i = 0; i < events.length; i += EMIT_CHUNK) await this.deps.emit(events.slice(i, i + EMIT_CHUNK));
    } catch (err) {
      if (err instanceof ShutdownError) return;
      // The queue could not take the batch (e.g. the disk is full): this scrape is lost, the next one is tried.
      this.deps.errors('emit', 1);
      this.deps.log.error(
        `emit ${target.key}`,
        { err: errorMessage(err), url: redact(target.url) },
        `the events of a scrape of ${redact(target.url)} could not be queued: ${errorMessage(err)}`,
      );
    }
  }

  private reportFailure(target: ScrapeTarget, err: unknown): void {
    this.deps.counters.failures.inc();
    this.deps.errors('scrape', 1);
    const code = err instanceof ScrapeError ? err.code : PROM_SCRAPE_ERRORS.TC_PROM_SCRAPE_FAILED;
    const url = redact(target.url);
    this.deps.log.warn(`scrape ${target.key}`, { code, url, instance: target.labels.instance }, `scrape of ${url} failed (up = 0): ${errorMessage(err)}`);
  }

  private reportMalformed(target: ScrapeTarget, result: BodyEvents): void {
    this.deps.counters.malformedLines.inc(result.malformed);
    this.deps.errors('parse', result.malformed);
    const url = redact(target.url);
    const first = result.errors[0] as LineError;
    this.deps.log.warn(
      `parse ${target.key}`,
      { code: PROM_SCRAPE_ERRORS.TC_PROM_MALFORMED_LINE, url, malformed: result.malformed, errors: result.errors.slice(0, 5) },
      `${result.malformed} malformed line(s) in the scrape of ${url} were skipped, the rest kept; line ${first.line}: ${first.message}`,
    );
  }
}

/** The URL without user info, for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
