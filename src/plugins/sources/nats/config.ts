import { byteSize, natsConnectionOptions, duration, z } from '../../../index.js';

export const natsSourceConfig = z.strictObject({
  ...natsConnectionOptions,
  stream: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'a stream name: letters, digits, "_" and "-"')
    .max(64)
    .default('TELEMETRY')
    .describe('JetStream stream to read (the `stream.name` of the nats sinks that feed it). It is part of every message\'s upstream identity, so all gateways of a pool must name it alike.'),
  consumer: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'a consumer name: letters, digits, "_" and "-"')
    .default('thermocline')
    .describe('Durable pull consumer. Every gateway of a pool uses the same name and gets its share of the messages; another name is an independent reader of the whole stream.'),
  filter_subject: z.string().min(1).optional().describe('Read only the subjects matching this filter, e.g. "telemetry.log.>". Fixed when the consumer is created.'),
  max_ack_pending: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(1000)
    .describe("Most messages delivered to the pool and not yet acknowledged: the bound on what is in flight between the stream and the gateways' queues."),
  ack_wait: duration()
    .prefault('30s')
    .describe('How long JetStream waits for an acknowledgement before it redelivers a message (to any gateway of the pool). A gateway that waits for queue room keeps its messages alive meanwhile.'),
  fetch_batch: z.number().int().min(1).max(10_000).default(256).describe('Most messages pulled and committed to the queue in one transaction.'),
  fetch_max_bytes: byteSize()
    .prefault('8MiB')
    .refine((n) => n > 0, 'must be more than 0 bytes')
    .describe(
      'Most message bytes pulled before they are committed to the queue in one transaction (a message larger than this is still taken, alone). Bounds the memory a pull holds, and keeps commits and acknowledgements flowing while messages arrive faster than one transaction takes.',
    ),
  max_remembered: z
    .number()
    .int()
    .min(1000)
    .max(10_000_000)
    .default(100_000)
    .describe("Most committed stream sequences above the consumer's acknowledgement floor kept in the checkpoint to recognise redeliveries. Kept as runs, so contiguous sequences cost little."),
});

export type NatsSourceConfig = z.output<typeof natsSourceConfig>;
