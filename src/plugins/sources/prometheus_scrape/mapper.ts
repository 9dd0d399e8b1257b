import type { Labels, MetricEvent, MetricHistogram, MetricPoint } from '../../../index.js';
import { Role, type Family } from './families.js';
import type { LabelMerger } from './labels.js';
import type { ParsedLabels, SampleSink } from './parser.js';

/**
 * Turns parsed samples into metric events (docs/ARCHITECTURE.md#events), keeping what Prometheus
 * itself would have stored from the same target:
 * - counters → `counter` points under the sample name (`http_requests_total`; OpenMetrics `foo_total`);
 * - gauges, untyped/unknown, stateset (one gauge per state), info (`foo_info` = 1) and
 *   gaugehistogram samples (`_bucket`, `_gcount`, `_gsum`) → `gauge` points;
 * - histograms → ONE `histogram` event per series (its labels without `le`), named after the
 *   family, with `{ count, sum, buckets: { "<le as written>": cumulative count, ..., "+Inf": n } }`;
 * - summaries → a `summary` point per quantile (label `quantile`) plus `<name>_sum` and
 *   `<name>_count` as `counter` points: they only grow, and are queried with rate() like counters;
 * - OpenMetrics `_created` samples → `gauge` points (their value is a Unix time), or dropped with
 *   `created_samples = "drop"`.
 */
export interface MapperOptions {
  labels: LabelMerger;
  /** The scrape's start time, for samples without (or with ignored) timestamps. */
  scrapeTimeUs: number;
  honorTimestamps: boolean;
  dropCreated: boolean;
}

export class EventMapper implements SampleSink {
  readonly events: MetricEvent[] = [];
  /** Samples dropped on purpose (`created_samples = "drop"`). */
  dropped = 0;
  /** Every histogram event of the scrape, by series, to merge samples that come out of order. */
  private readonly histograms = new Map<string, MetricHistogram>();
  private readonly buckets = new BucketBuilder();
  /**
   * The series whose samples are arriving: its scraped label pairs (without `le`), to recognise
   * its next sample cheaply, and its buckets so far. Only one series is open at a time, and its
   * buckets become an object when it closes: a scrape of 100k histograms keeps no per-series
   * arrays alive (the garbage collector copies whatever survives, which dominated the cost).
   */
  private open: MetricHistogram | undefined;
  private openFamily: Family | undefined;
  private readonly openNames: string[] = [];
  private readonly openValues: string[] = [];
  private readonly les: string[] = [];
  private readonly counts: number[] = [];

  constructor(private readonly options: MapperOptions) {}

  sample(family: Family, role: Role, name: string, labels: ParsedLabels, value: number, timestampUs: number): string | undefined {
    const time = this.options.honorTimestamps && !Number.isNaN(timestampUs) ? timestampUs : this.options.scrapeTimeUs;
    if (role === Role.Created) {
      if (this.options.dropCreated) {
        this.dropped++;
        return undefined;
      }
      return this.point(name, labels, time, 'gauge', value);
    }
    switch (family.type) {
      case 'counter':
        return this.point(name, labels, time, 'counter', value);
      case 'histogram':
        return this.histogram(family, role, labels, time, value);
      case 'summary':
        return this.point(name, labels, time, role === Role.Base ? 'summary' : 'counter', value);
      default:
        return this.point(name, labels, time, 'gauge', value);
    }
  }

  /** The events in the order their first sample appeared, histograms completed. */
  finish(): MetricEvent[] {
    this.close();
    for (const event of this.histograms.values()) {
      const h = event.histogram;
      // A series without `_count` still has its count in the +Inf bucket, and vice versa.
      const inf = h.buckets['+Inf'];
      if (Number.isNaN(h.count)) h.count = inf ?? 0;
      if (inf === undefined) h.buckets['+Inf'] = h.count;
    }
    return this.events;
  }

  private point(name: string, scraped: ParsedLabels, time_us: number, type: MetricPoint['type'], value: number): string | undefined {
    const labels = this.options.labels.build(scraped, -1);
    if (labels === undefined) return duplicateLabel(scraped);
    const event: MetricPoint = { kind: 'metric', name, labels, time_us, type, value };
    this.events.push(event);
    return undefined;
  }

  private histogram(family: Family, role: Role, scraped: ParsedLabels, time: number, value: number): string | undefined {
    const le = scraped.indexOf('le');
    if (role === Role.Bucket && le < 0) return `the histogram bucket of "${family.name}" has no "le" label`;
    const skip = role === Role.Bucket ? le : -1;
    let open = this.open;
    if (open === undefined || this.openFamily !== family || !this.sameSeries(scraped, skip)) {
      open = this.reopen(family, scraped, skip, time);
      if (open === undefined) return duplicateLabel(scraped);
    }
    if (role === Role.Bucket) {
      this.les.push(scraped.values[le] as string);
      this.counts.push(value);
    } else if (role === Role.Sum) open.histogram.sum = value;
    else open.histogram.count = value;
    return undefined;
  }

  /** Close the open series (its buckets become an object) and open the one of this sample. */
  private reopen(family: Family, scraped: ParsedLabels, skip: number, time_us: number): MetricHistogram | undefined {
    const labels = this.options.labels.build(scraped, skip);
    if (labels === undefined) return undefined;
    this.close();
    const key = seriesKey(family.name, labels);
    let event = this.histograms.get(key);
    if (event === undefined) {
      // Created at the series' first sample, which fixes its place among the events and its time.
      event = { kind: 'metric', name: family.name, labels, time_us, type: 'histogram', histogram: { count: NaN, sum: NaN, buckets: {} } };
      this.events.push(event);
      this.histograms.set(key, event);
    } else {
      // Samples of a series that another series interrupted: continue its buckets.
      for (const [le, count] of Object.entries(event.histogram.buckets)) {
        this.les.push(le);
        this.counts.push(count);
      }
    }
    this.open = event;
    this.openFamily = family;
    this.openNames.length = 0;
    this.openValues.length = 0;
    for (let i = 0; i < scraped.count; i++) {
      if (i === skip) continue;
      this.openNames.push(scraped.names[i] as string);
      this.openValues.push(scraped.values[i] as string);
    }
    return event;
  }

  private close(): void {
    const open = this.open;
    if (open === undefined) return;
    if (this.les.length > 0) open.histogram.buckets = this.buckets.make(this.les, this.counts);
    this.les.length = 0;
    this.counts.length = 0;
    this.open = undefined;
  }

  /** Whether `scraped` (without the label at `skip`) has exactly the label pairs of the open series, in order. */
  private sameSeries(scraped: ParsedLabels, skip: number): boolean {
    const names = this.openNames;
    const values = this.openValues;
    if (scraped.count - (skip >= 0 ? 1 : 0) !== names.length) return false;
    let j = 0;
    for (let i = 0; i < scraped.count; i++) {
      if (i === skip) continue;
      if (scraped.names[i] !== names[j] || scraped.values[i] !== values[j]) return false;
      j++;
    }
    return true;
  }
}

/**
 * Builds `buckets` objects. The histograms of a family share their bounds, so like label sets
 * (see labels.ts) each list of bounds gets one generated object literal: assigning computed keys
 * one by one to fresh objects measured as the slowest part of mapping histograms.
 */
class BucketBuilder {
  private readonly layouts = new Map<string, (counts: number[]) => Record<string, number>>();
  private lastLes: string[] = [];
  private last: ((counts: number[]) => Record<string, number>) | undefined;

  make(les: string[], counts: number[]): Record<string, number> {
    if (this.last === undefined || !sameStrings(this.lastLes, les)) {
      const key = les.join('\u0000');
      let make = this.layouts.get(key);
      if (make === undefined) {
        if (this.layouts.size >= 1024) this.layouts.clear();
        make = compileBuckets(les);
        this.layouts.set(key, make);
      }
      this.last = make;
      this.lastLes = les.slice(); // `les` is the caller's scratch array
    }
    return this.last(counts);
  }
}

function compileBuckets(les: readonly string[]): (counts: number[]) => Record<string, number> {
  if (les.includes('__proto__')) {
    // An object literal would set the prototype: build this (absurd) layout the plain way.
    return (counts) => {
      const out: Record<string, number> = {};
      les.forEach((le, i) => Object.defineProperty(out, le, { value: counts[i], enumerable: true, writable: true, configurable: true }));
      return out;
    };
  }
  // Keys are written with JSON.stringify: nothing in a label value can reach the generated code.
  const fields = les.map((le, i) => `${JSON.stringify(le)}: c[${i}]`);
  return new Function(`return (c) => ({ ${fields.join(', ')} });`)() as (counts: number[]) => Record<string, number>;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function seriesKey(name: string, labels: Labels): string {
  let key = name;
  for (const k in labels) key += `\u0000${k}\u0001${labels[k]}`;
  return key;
}

function duplicateLabel(scraped: ParsedLabels): string {
  const seen = new Set<string>();
  for (let i = 0; i < scraped.count; i++) {
    const n = scraped.names[i] as string;
    if (seen.has(n)) return `the label "${n}" appears twice`;
    seen.add(n);
  }
  return 'the sample repeats a label name';
}
