import { defineTransform, RateLimitedLog } from '../../../index.js';
import { Canonicalizer } from './canonicalizer.js';
import { canonicalizeLabelsConfig } from './config.js';
import { CANONICALIZE_ERRORS } from './errors.js';
import { validateConfig } from './validate.js';

/**
 * Puts labels into canonical form so that one series is one series: sorted keys,
 * cleaned names and values, renames, drops, static additions, and a cardinality guard that
 * protects `metric_series` from label explosions.
 */
export default defineTransform({
  type: 'canonicalize_labels',
  summary: 'Sorts, cleans and rewrites labels, and guards metrics against label explosions.',
  errors: CANONICALIZE_ERRORS,
  config: canonicalizeLabelsConfig,
  example: { drop: [{ regex: '^tmp_' }], add: { cluster: 'dev' }, max_series_per_metric: 10000, on_limit: 'drop' },
  validate: validateConfig,
  create(config, ctx) {
    const warn = new RateLimitedLog(ctx.logger);
    // The refused series' labels are logged so that the exploding label can be spotted.
    const canon = new Canonicalizer(config, (metric, policy, example) =>
      warn.warn(
        'cardinality_limit',
        { code: CANONICALIZE_ERRORS.TC_CARDINALITY_LIMIT, metric, max_series_per_metric: config.max_series_per_metric, on_limit: config.on_limit, example_labels: example },
        `metric "${metric}" reached max_series_per_metric (${config.max_series_per_metric}); new series ${policy.action === 'pass' ? 'pass on (on_limit = "pass")' : policy.action === 'drop' ? 'are dropped' : `lose the label "${policy.label}"`}`,
      ),
    );
    const m = ctx.metrics;
    const truncated = m.counter('values_truncated_total', 'Label values truncated to max_label_value_bytes.');
    const collisions = m.counter('label_collisions_total', 'Labels removed because another label got the same name after rename, case folding or sanitizing.');
    const overLimit = m.counter('series_over_limit_total', 'Events of new series beyond max_series_per_metric, whatever on_limit then did.');
    const labelRemoved = m.counter('limit_label_removed_total', 'Events over the series limit that went on without the drop_label label.');
    const evictions = m.counter('tracker_evictions_total', 'Metrics the cardinality guard forgot to stay within max_tracked_metrics / max_tracked_series.');
    const trackedSeries = m.gauge('tracked_series', 'Series the cardinality guard currently tracks.');
    const trackedMetrics = m.gauge('tracked_metrics', 'Metric names the cardinality guard currently tracks.');
    const metricsOverLimit = m.gauge('metrics_over_limit', 'Tracked metric names that reached max_series_per_metric and refused a new series: alert when above 0.');
    let evicted = 0;

    // Counters move once per batch: a prom-client label lookup per event would cost more than the rewrite.
    const flush = () => {
      const c = canon.counts;
      if (c.truncated > 0) truncated.inc(c.truncated);
      if (c.collisions > 0) collisions.inc(c.collisions);
      if (c.overLimit > 0) overLimit.inc(c.overLimit);
      if (c.labelRemoved > 0) labelRemoved.inc(c.labelRemoved);
      if (c.dropped > 0) m.dropped(c.dropped, 'cardinality_limit');
      c.truncated = c.collisions = c.overLimit = c.labelRemoved = c.dropped = 0;
      const tracker = canon.tracker;
      if (tracker) {
        if (tracker.evictions > evicted) {
          evictions.inc(tracker.evictions - evicted);
          warn.warn(
            'tracker_evictions',
            {
              code: CANONICALIZE_ERRORS.TC_CARDINALITY_TRACKER_FULL,
              evicted: tracker.evictions - evicted,
              max_tracked_metrics: config.max_tracked_metrics,
              max_tracked_series: config.max_tracked_series,
            },
            'the cardinality guard forgot metrics to stay within max_tracked_metrics / max_tracked_series; forgotten metrics start counting their series afresh',
          );
          evicted = tracker.evictions;
        }
        trackedSeries.set(tracker.trackedSeries);
        trackedMetrics.set(tracker.trackedMetrics);
        metricsOverLimit.set(tracker.overLimit);
      }
    };

    return {
      process(events) {
        const out = canon.process(events);
        flush();
        return out;
      },
    };
  },
});
