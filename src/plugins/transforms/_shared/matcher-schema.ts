import { z } from 'zod';

/*
 * The declarative matcher language shared by `route` and `filter` (transforms/route/README.md, e.g.
 * `route.errors = { kind = "log", level = ["error", "fatal"] }`). No expression language: a
 * matcher is a TOML table whose keys are AND-ed; each key names an event field and its value is a
 * condition. This folder has no index.ts on purpose: the registry generator registers every
 * folder that has one, and this is a library, not a plugin.
 */

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** What `not` may negate: a value, a list, or a regex/exists table (no further `not`). */
const negatable = z.union([
  scalar,
  z.array(scalar).min(1, 'a list needs at least one value'),
  z.strictObject({
    regex: z
      .string()
      .optional()
      .describe(
        'A regular expression in RE2 syntax (unanchored; no backreferences or lookaround, so it runs in linear time) the value must contain a match of.',
      ),
    exists: z.boolean().optional().describe('true: the value must be present and non-empty; false: absent or empty.'),
  }),
]);

/**
 * A condition on one value. Values are compared as text, so `labels.code = 500` matches the
 * label `"500"` and `duration_ns = 1000` matches the number 1000.
 */
export const conditionSchema = z
  .union([
    scalar,
    z.array(scalar).min(1, 'a list needs at least one value'),
    z.strictObject({
      regex: z
        .string()
        .optional()
        .describe(
          'A regular expression in RE2 syntax (unanchored; no backreferences or lookaround, so it runs in linear time) the value must contain a match of.',
        ),
      exists: z.boolean().optional().describe('true: the value must be present and non-empty; false: absent or empty.'),
      not: negatable.optional().describe('The value must NOT satisfy this: a value, a list, or a `{ regex }` / `{ exists }` table.'),
    }),
  ])
  .describe('A value (equals), a list (equals one of), or a table `{ regex = "...", exists = true, not = ... }` whose keys must all hold.');

export type ConditionConfig = z.output<typeof conditionSchema>;

/**
 * Event fields a matcher may test, with the kinds that carry them (docs/ARCHITECTURE.md#events). A
 * field absent from an event's kind is "absent": equality fails and `{ exists = false }` holds.
 */
export const MATCHER_FIELDS = {
  kind: 'every event: "log", "metric", "span" or "event"',
  name: 'metrics (the metric name) and spans (the operation name)',
  type: 'metrics ("gauge", "counter", "histogram", "summary") and business events (their type)',
  service: 'logs, spans and business events',
  host: 'logs',
  level: 'logs',
  message: 'logs',
  severity: 'business events',
  trace_id: 'logs and spans (32 lower-case hex characters; empty on logs without trace context)',
  span_id: 'logs and spans',
  parent_span_id: 'spans',
  status_code: 'spans ("UNSET", "OK" or "ERROR")',
  status_message: 'spans',
  time_us: 'logs, metrics and business events (microseconds since the epoch)',
  start_us: 'spans',
  end_us: 'spans',
  duration_ns: 'spans',
  value: 'metric points (gauges, counters, summary quantiles)',
} as const;

export type MatcherField = keyof typeof MATCHER_FIELDS;

/**
 * A nested matcher inside `any`, `all` or `not`. It is validated with the full matcher schema
 * (issues keep their nested key path), but declared as a plain table so that the generated JSON
 * Schema stays free of recursive `$ref`s, which the per-plugin `oneOf` in config.schema.json
 * cannot resolve.
 */
const nestedMatcher = z
  .record(z.string(), z.unknown())
  .check((ctx) => {
    const parsed = matcherSchema.safeParse(ctx.value);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.issues.push({ ...issue, input: ctx.value } as never);
  })
  .describe('A matcher table, with the same keys as the table that holds it.');

const fieldShape = Object.fromEntries(
  Object.entries(MATCHER_FIELDS).map(([field, carriers]) => [field, conditionSchema.optional().describe(`The event's \`${field}\`, carried by ${carriers}.`)]),
) as { [K in MatcherField]: z.ZodOptional<typeof conditionSchema> };

export const matcherSchema = z
  .strictObject({
    ...fieldShape,
    labels: z
      .record(z.string(), conditionSchema)
      .optional()
      .describe(
        'Conditions on labels, keyed by label name: `labels.env = "prod"`. Reads the labels of logs and metrics and the attributes (`attr`) of spans; business events have none.',
      ),
    payload: z
      .record(z.string(), conditionSchema)
      .optional()
      .describe(
        'Conditions on top-level keys of a business event\'s payload: `payload.version = "1.2.0"`. Objects and arrays in the payload only satisfy `exists`.',
      ),
    any: z.array(nestedMatcher).min(1, 'needs at least one matcher').optional().describe('At least one of these matchers must match.'),
    all: z.array(nestedMatcher).min(1, 'needs at least one matcher').optional().describe('Every one of these matchers must match.'),
    not: nestedMatcher.optional().describe('This matcher must NOT match.'),
  })
  .describe('Keys are AND-ed; an empty table matches every event.');

export type MatcherConfig = z.output<typeof matcherSchema>;
