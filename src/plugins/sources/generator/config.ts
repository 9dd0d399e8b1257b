import { z } from 'zod';

export const generatorConfig = z.strictObject({
  rate: z
    .number()
    .nonnegative()
    .default(10)
    .describe('Events per second across all kinds. 0 means as fast as the queue accepts them (for benchmarks).'),
  kinds: z
    .array(z.enum(['log', 'metric', 'span']))
    .min(1)
    .default(['log', 'metric', 'span'])
    .describe('Which kinds to generate, in rotation.'),
  batch_size: z.number().int().positive().max(100_000).default(100).describe('Most events per emitted batch.'),
  count: z.number().int().positive().optional().describe('Stop after this many events in total (across restarts); unlimited when unset.'),
  service: z.string().min(1).default('generator').describe('The `service` of generated events.'),
  message_bytes: z.number().int().positive().max(65_536).default(100).describe('Approximate size of a generated log message.'),
});

export type GeneratorConfig = z.output<typeof generatorConfig>;
