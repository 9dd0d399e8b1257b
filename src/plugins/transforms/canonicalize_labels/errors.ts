import { defineErrorCodes } from '../../../index.js';

export const CANONICALIZE_ERRORS = defineErrorCodes({
  TC_CARDINALITY_LIMIT: {
    title: 'A metric reached `max_series_per_metric` distinct label sets in `canonicalize_labels`.',
    hint: 'A label with unbounded values (user ids, URLs with ids, timestamps) is exploding the series count. Compare the `example_labels` of the warning with the usual labels of the metric to find it, then `drop` it or collapse it with `on_limit = "drop_label:<name>"`; raise `max_series_per_metric` if the metric really has that many series. `thermocline_canonicalize_labels_series_over_limit_total` counts the affected events.',
  },
  TC_CARDINALITY_TRACKER_FULL: {
    title: 'The cardinality guard of `canonicalize_labels` forgot metrics to stay within its memory bounds.',
    hint: 'A forgotten metric starts counting its series afresh, so the guard lets more series through than `max_series_per_metric`. Raise `max_tracked_metrics` above the number of metric names you ingest, and `max_tracked_series` above the sum of their series (about 42 bytes each).',
  },
});
