import { z } from 'zod';
import { matcherSchema } from '../_shared/matcher-schema.js';

export const filterConfig = z.strictObject({
  condition: matcherSchema.describe(
    'The matcher events are tested against, with the same syntax as a `route` matcher: `condition = { kind = "log", level = ["debug", "trace"] }`. Keys are AND-ed; `any`, `all` and `not` combine matchers.',
  ),
  invert: z.boolean().default(false).describe('false: keep the events that match and drop the rest. true: drop the events that match and keep the rest.'),
});

export type FilterConfig = z.output<typeof filterConfig>;
