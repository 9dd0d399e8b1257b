import { z } from 'zod';
import { matcherSchema } from '../_shared/matcher-schema.js';

export const routeConfig = z.strictObject({
  route: z
    .record(z.string(), matcherSchema)
    .describe(
      'Named routes, each a matcher table: `route.errors = { kind = "log", level = ["error", "fatal"] }`. Each route becomes the output `<id>.<route>`; `<id>._unmatched` carries the events no route matched. Routes are tried in the order they are written.',
    ),
  exclusive: z
    .boolean()
    .default(false)
    .describe(
      "false: an event goes to every route it matches (as Vector's `route`). true: only to the first matching route, in the order the routes are written.",
    ),
});

export type RouteConfig = z.output<typeof routeConfig>;

/** The output that receives events no route matched (see README.md). */
export const UNMATCHED = '_unmatched';
