import { z } from 'zod';

export const blackholeConfig = z.strictObject({
  print_interval_secs: z
    .number()
    .nonnegative()
    .default(10)
    .describe('Log a summary of what was discarded every so often; 0 disables it.'),
});

export type BlackholeConfig = z.output<typeof blackholeConfig>;
