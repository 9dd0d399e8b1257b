import type { Labels, MetricEvent, TelemetryEvent } from '../../../index.js';
import type { CanonicalizeLabelsConfig } from './config.js';
import { LabelRewriter, setLabel, type RewriteCounts } from './label-rewriter.js';
import { sanitizeMetricName } from './prometheus-names.js';
import { hashLabels } from './series-hash.js';
import { SeriesTracker } from './series-tracker.js';

export interface LimitPolicy {
  action: 'pass' | 'drop' | 'drop_label';
  /** The label `drop_label:<name>` removes. */
  label: string;
}

/** `"drop_label:user_id"` → `{ action: "drop_label", label: "user_id" }` (the schema checked the shape). */
export function parseOnLimit(text: string): LimitPolicy {
  if (text.startsWith('drop_label:')) return { action: 'drop_label', label: text.slice('drop_label:'.length) };
  return { action: text === 'drop' ? 'drop' : 'pass', label: '' };
}

export interface CanonicalizeCounts extends RewriteCounts {
  /** Events of a new series beyond its metric's limit, whatever `on_limit` then did. */
  overLimit: number;
  /** Events the guard dropped. */
  dropped: number;
  /** Events that lost their `drop_label` label and went on. */
  labelRemoved: number;
}

const NAME_CACHE_LIMIT = 10_000;

/**
 * Applies the label rules to each event of a batch, in place (a transform may mutate what it
 * receives), then the cardinality guard to metrics. Returns the batch itself unless the guard
 * dropped something.
 */
export class Canonicalizer {
  readonly counts: CanonicalizeCounts = { truncated: 0, collisions: 0, overLimit: 0, dropped: 0, labelRemoved: 0 };
  readonly tracker: SeriesTracker | undefined;
  private readonly metric: LabelRewriter | undefined;
  private readonly log: LabelRewriter | undefined;
  private readonly span: LabelRewriter | undefined;
  private readonly sanitize: boolean;
  private readonly metricNames = new Map<string, string>();
  private readonly limit: number;
  private readonly policy: LimitPolicy;

  /** `onFirstRefusal` is told once per tracked metric when it first exceeds its limit, with the refused series' labels. */
  constructor(
    config: CanonicalizeLabelsConfig,
    private readonly onFirstRefusal: (metric: string, policy: LimitPolicy, example: Labels) => void = () => {},
  ) {
    const applies = new Set(config.applies_to);
    this.sanitize = config.sanitize_names === 'prometheus' && applies.has('metric');
    this.limit = config.max_series_per_metric;
    this.policy = parseOnLimit(config.on_limit);
    // The guard needs canonical label order to recognise a series, so it watches only the metrics it rewrites.
    const guard = applies.has('metric') && this.limit > 0;
    this.tracker = guard ? new SeriesTracker(config.max_tracked_metrics, config.max_tracked_series) : undefined;
    const other = applies.has('log') || applies.has('span') ? new LabelRewriter(config, false, this.counts) : undefined;
    this.metric = applies.has('metric') ? new LabelRewriter(config, this.sanitize, this.counts, guard) : undefined;
    this.log = applies.has('log') ? other : undefined;
    this.span = applies.has('span') ? other : undefined;
  }

  process(events: TelemetryEvent[]): TelemetryEvent[] {
    this.tracker?.nextBatch();
    let kept: TelemetryEvent[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as TelemetryEvent;
      let keep = true;
      switch (e.kind) {
        case 'metric':
          if (this.metric) keep = this.metricEvent(e, this.metric);
          break;
        case 'log':
          if (this.log) e.labels = this.log.rewrite(e.labels);
          break;
        case 'span':
          if (this.span) e.attr = this.span.rewrite(e.attr);
          break;
        default:
          break;
      }
      // Allocate a second array only once something is dropped.
      if (!keep) kept ??= events.slice(0, i);
      else if (kept) kept.push(e);
    }
    return kept ?? events;
  }

  private metricEvent(e: MetricEvent, rewriter: LabelRewriter): boolean {
    if (this.sanitize) e.name = this.metricName(e.name);
    e.labels = rewriter.rewrite(e.labels);
    const tracker = this.tracker;
    if (tracker === undefined || tracker.admit(e.name, rewriter.seriesHash, this.limit)) return true;
    this.counts.overLimit++;
    if (tracker.firstRefusal(e.name)) this.onFirstRefusal(e.name, this.policy, e.labels);
    switch (this.policy.action) {
      case 'pass':
        return true;
      case 'drop_label': {
        const reduced = without(e.labels, this.policy.label);
        // The reduced series may use an overflow allowance of another `limit` series, so that
        // collapsing the exploding label still lets the metric through, within bounded memory.
        if (reduced !== undefined && tracker.admit(e.name, hashLabels(reduced), 2 * this.limit)) {
          e.labels = reduced;
          this.counts.labelRemoved++;
          return true;
        }
        this.counts.dropped++;
        return false;
      }
      default:
        this.counts.dropped++;
        return false;
    }
  }

  private metricName(name: string): string {
    let out = this.metricNames.get(name);
    if (out === undefined) {
      if (this.metricNames.size >= NAME_CACHE_LIMIT) this.metricNames.clear();
      out = sanitizeMetricName(name);
      this.metricNames.set(name, out);
    }
    return out;
  }
}

/** A copy of `labels` without `key` (order kept), or undefined when there is no such label. */
function without(labels: Labels, key: string): Labels | undefined {
  if (typeof labels[key] !== 'string' || !Object.hasOwn(labels, key)) return undefined;
  const out: Labels = {};
  for (const k in labels) if (k !== key) setLabel(out, k, labels[k] as string);
  return out;
}
