import { z } from 'zod';

/** A label name, or `{ regex = "..." }` for every name containing a match (RE2 syntax, unanchored, as in matchers). */
const nameSelector = z.union(
  [
    z.string().min(1, 'a label name cannot be empty'),
    z.strictObject({
      regex: z
        .string()
        .describe(
          'A regular expression in RE2 syntax (unanchored: write `^...$` to match whole names; no backreferences or lookaround, so it runs in linear time).',
        ),
    }),
  ],
  { error: 'must be a label name or a table `{ regex = "..." }`' },
);

export const ON_LIMIT = /^(drop|pass|drop_label:.+)$/;

export const canonicalizeLabelsConfig = z.strictObject({
  applies_to: z
    .array(z.enum(['metric', 'log', 'span']))
    .min(1)
    .default(['metric', 'log', 'span'])
    .describe('Which label maps to rewrite: metric labels, log labels, span attributes (`attr`). Business events have no labels and pass untouched.'),
  trim: z.boolean().default(true).describe('Remove leading and trailing whitespace from label names and values.'),
  drop_empty_values: z
    .boolean()
    .default(true)
    .describe('Remove labels whose value is empty (after trimming): as in Prometheus, an empty label is the same series as no label.'),
  key_case: z.enum(['preserve', 'lower']).default('preserve').describe('"lower": lower-case every label name (before `rename`).'),
  sanitize_names: z
    .enum(['none', 'prometheus'])
    .default('none')
    .describe(
      '"prometheus": rewrite metric names to `[a-zA-Z_:][a-zA-Z0-9_:]*` and metric label names to `[a-zA-Z_][a-zA-Z0-9_]*`, replacing other characters with "_" (and prefixing "_" to a leading digit). Only metrics: log labels and span attributes keep OpenTelemetry names such as `http.route`.',
    ),
  rename: z.record(z.string().min(1), z.string().min(1)).default({}).describe('Label names to rename, `old = "new"`, matched after trimming and `key_case`.'),
  drop: z
    .array(nameSelector)
    .default([])
    .describe('Labels to remove: exact names, or `{ regex = "..." }` tables. Names are matched after rename and sanitizing.'),
  keep: z
    .array(nameSelector)
    .optional()
    .describe(
      'When set, an allow-list: every label not named here (exactly or by `{ regex = "..." }`) is removed. Matched after rename and sanitizing; `add` labels are always kept.',
    ),
  lowercase_values: z.array(z.string().min(1)).default([]).describe('Labels whose values are lower-cased (e.g. `["method", "env"]`), named as after rename.'),
  add: z
    .record(z.string().min(1), z.string())
    .default({})
    .describe(
      'Static labels to add, `name = "value"`. Values may use `${VAR}` / `${VAR:-default}`, taken from the environment when the config loads.',
    ),
  add_mode: z
    .enum(['if_absent', 'overwrite'])
    .default('if_absent')
    .describe('"if_absent": an event\'s own label of the same name wins (as Prometheus external labels). "overwrite": `add` values replace them.'),
  max_label_value_bytes: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Truncate label values longer than this many UTF-8 bytes (never inside a character), counted in `values_truncated_total`. Unlimited when unset.'),
  max_series_per_metric: z
    .number()
    .int()
    .nonnegative()
    .default(10_000)
    .describe(
      'The cardinality guard: how many distinct label sets one metric name may have before `on_limit` applies. The default, 10,000, is 20 times a whole node_exporter scrape and above any well-behaved single metric, while one metric at the cap scraped every 15 s adds only about 670 points/s to a queue. 0 disables the guard. Watches metrics only, and only when `applies_to` includes "metric".',
    ),
  on_limit: z
    .string()
    .regex(ON_LIMIT, 'must be "drop", "pass" or "drop_label:<label name>"')
    .default('drop')
    .describe(
      'What happens to an event of a NEW series once its metric has `max_series_per_metric` series. "drop" (the default): it is dropped and counted, so that one exploding target cannot fill a shared sink queue. "pass": it goes on, counted and logged. "drop_label:<name>": the label is removed and the reduced series goes on if it is known or fits an overflow allowance of another `max_series_per_metric` series; otherwise (or without that label) the event is dropped.',
    ),
  max_tracked_metrics: z
    .number()
    .int()
    .positive()
    .default(20_000)
    .describe(
      'Most metric names the guard tracks at once (about 300 bytes each). The least recently seen is forgotten first and starts afresh when it returns, so keep this above the number of metric names you ingest.',
    ),
  max_tracked_series: z
    .number()
    .int()
    .positive()
    .default(1_000_000)
    .describe(
      'Most series the guard tracks across all metrics (about 42 bytes each, so 1,000,000 is about 42 MB at most); the least recently seen metrics are forgotten first.',
    ),
});

export type CanonicalizeLabelsConfig = z.output<typeof canonicalizeLabelsConfig>;
