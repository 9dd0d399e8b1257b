import { z } from 'zod';

export const consoleConfig = z.strictObject({
  target: z.enum(['stdout', 'stderr']).default('stdout').describe('Where to print.'),
  encoding: z.enum(['json', 'text']).default('json').describe('"json": one event per line as JSON. "text": a short human-readable line per event.'),
});

export type ConsoleConfig = z.output<typeof consoleConfig>;
