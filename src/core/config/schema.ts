import { z } from 'zod';
import { byteSize, listenAddress } from './units.js';
import { httpLimitsSchema } from '../http/limits.js';

/** Component ids become metric labels and named outputs (`<id>.<output>`): no dots. */
export const COMPONENT_ID = /^[A-Za-z0-9_-]+$/;

const componentTable = z.record(z.string(), z.record(z.string(), z.unknown()));

export const topLevelSchema = z.strictObject({
  data_dir: z.string().min(1).default('./data').describe('Directory for the queue database, checkpoints, state and embedded stores. Relative paths resolve against the working directory.'),
  api: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Serve /health, /metrics, /components and /tap.'),
      address: listenAddress()
        .default('127.0.0.1:8686')
        .describe('Listen address of the API. Loopback by default: then only requests whose `Host` is `localhost`, `127.0.0.1` or `[::1]` (or in `allowed_hosts`) are answered, which keeps web pages out through DNS rebinding.'),
      allowed_hosts: z
        .array(z.string().min(1))
        .default([])
        .describe('Host names (without port) accepted in the `Host` header besides the loopback names, e.g. `["agent.internal"]`. On a non-loopback address an empty list accepts any host; a non-empty one accepts only these and the loopback names. Other hosts get 421.'),
      auth: z
        .strictObject({
          bearer_token: z
            .string()
            .min(1)
            .describe('/components and /tap need `Authorization: Bearer <token>` with this token, or answer 401; /health and /metrics stay open for probes and scrapers. Write it as `"${API_TOKEN}"` to keep it out of the file; `thermocline tap` and `top` send it when given `-c`.'),
        })
        .optional()
        .describe('Optional bearer-token authentication of the API.'),
      tap: z
        .strictObject({
          max_buffer_bytes: byteSize()
            .prefault('1MiB')
            .describe('Bytes a /tap reader may have waiting unsent; past it, events are dropped for that reader (counted in `thermocline_api_tap_dropped_events_total`) and the stream says how many with a `{"dropped": N}` line once it catches up.'),
        })
        .prefault({})
        .describe('/tap streams.'),
      http: httpLimitsSchema(64),
    })
    .prefault({})
    .describe('The agent\'s own HTTP API.'),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info').describe('Minimum level of the JSON logs written to stdout.'),
    })
    .prefault({}),
  queue: z
    .strictObject({
      synchronous: z
        .enum(['normal', 'full'])
        .default('normal')
        .describe('SQLite durability. "normal": committed batches survive the process being killed at any moment. "full": they also survive power loss, at the cost of an fsync per commit.'),
      dead_letter: z
        .strictObject({
          max_age_secs: z
            .number()
            .positive()
            .default(604_800)
            .describe('Dead letters older than this (by the time they failed) are deleted; 7 days by default. Checked at start and every minute; counted in `thermocline_dead_letters_pruned_total{reason="max_age"}`.'),
          max_bytes: byteSize()
            .prefault('256MiB')
            .describe('Most bytes the dead-letter table keeps (batches, rejected rows and messages); beyond it the oldest entries are deleted first, counted in `thermocline_dead_letters_pruned_total{reason="max_bytes"}`.'),
        })
        .prefault({})
        .describe('How long rejected data is kept for `thermocline dead-letter`.'),
    })
    .prefault({})
    .describe('The durable queue shared by all sinks.'),
  memory: z
    .strictObject({
      limit: byteSize()
        .prefault('1GiB')
        .describe(
          'Most memory the agent\'s JavaScript may hold (V8 heap in use plus buffers, read 4 times a second). Above it, sources are held back as if their queues were full (the file source pauses, OTLP and the events endpoint answer 503, scrapers skip) while sinks go on delivering; below 90 % of it they resume. Exported as `thermocline_memory_used_bytes` and `thermocline_memory_limited`. Embedded engines (chdb, embedded PostgreSQL) are not counted. `0` turns the limit off.',
        ),
      heap_growth_percent: z
        .number()
        .int()
        .min(0)
        .max(1000)
        .default(100)
        .describe(
          'How far V8\'s heap may grow past what its last full collection kept before it collects again, in percent. Left to itself V8 grows it by up to 300 % while the agent allocates fast, so a busy agent carries two or three times the garbage it needs; at a steady 50,000 events/s, 100 kept the peak resident size 36–56 MiB lower for the same CPU, and 50 another 11 MiB lower for a tenth more CPU (docs/operations.md#resident-memory). `0` lets V8 choose. Applied at start and on reload; overrides node\'s `--heap-growing-percent`.',
        ),
    })
    .prefault({})
    .describe('The agent\'s memory: its limit (docs/delivery.md#memory-limit) and how V8\'s heap grows.'),
  shutdown: z
    .strictObject({
      timeout_secs: z.number().positive().default(30).describe('How long a graceful stop (SIGTERM/SIGINT) may take before the agent exits anyway.'),
    })
    .prefault({}),
  plugins: z
    .strictObject({
      load: z.array(z.string().min(1)).default([]).describe('Custom plugins: file paths (relative to the config file) or npm package names.'),
    })
    .prefault({}),
  sources: componentTable.default({}),
  transforms: componentTable.default({}),
  sinks: componentTable.default({}),
  tasks: componentTable.default({}),
});

export type TopLevelConfig = z.output<typeof topLevelSchema>;

const inputs = z.array(z.string().min(1)).min(1, 'needs at least one input').describe('Ids of the components (or named outputs `<transform>.<output>`) this one consumes.');

export const sourceCommonShape = {
  type: z.string().describe('The plugin type.'),
};

export const transformCommonShape = {
  type: z.string().describe('The plugin type.'),
  inputs,
};

export const bufferSchema = z
  .strictObject({
    type: z.enum(['disk', 'memory']).default('disk').describe('"disk": the SQLite queue, survives restarts. "memory": lost when the process dies.'),
    max_bytes: byteSize().prefault('256MiB').describe('Capacity of the queue in encoded bytes, e.g. "256MiB" or a number of bytes.'),
    max_events: z.number().int().positive().optional().describe('Memory buffers only: capacity in events as well.'),
    when_full: z.enum(['block', 'drop_newest']).default('block').describe('"block": producers wait (the file source pauses, OTLP answers 503). "drop_newest": new events for this sink are dropped and counted.'),
  })
  .prefault({});

export const batchSchema = z
  .strictObject({
    max_events: z.number().int().positive().optional().describe('Most events per delivery.'),
    max_bytes: byteSize().optional().describe('Most encoded bytes per delivery.'),
    timeout_secs: z.number().nonnegative().optional().describe('How long to wait for a batch to fill before delivering what is queued.'),
  })
  .prefault({});

export const retrySchema = z
  .strictObject({
    initial_backoff_secs: z.number().positive().default(1).describe('First wait after a retryable error; doubles each time, with jitter.'),
    max_backoff_secs: z.number().positive().default(60).describe('Longest wait between retries.'),
    max_unclassified_attempts: z
      .number()
      .int()
      .positive()
      .default(5)
      .describe('Attempts for errors the sink did not classify as retryable or permanent before the batch is dead-lettered.'),
  })
  .prefault({});

export const sinkCommonShape = {
  type: z.string().describe('The plugin type.'),
  inputs: inputs.optional(),
  buffer: bufferSchema,
  batch: batchSchema,
  retry: retrySchema,
  healthcheck: z
    .strictObject({ enabled: z.boolean().default(true).describe('Run the sink\'s health check at start and report it in /health.') })
    .prefault({}),
};

export const taskCommonShape = {
  type: z.string().describe('The plugin type.'),
  healthcheck: z
    .strictObject({ enabled: z.boolean().default(true).describe('Run the task\'s health check at start and report it in /health.') })
    .prefault({}),
};

export const COMMON_KEYS = {
  source: Object.keys(sourceCommonShape),
  transform: Object.keys(transformCommonShape),
  sink: Object.keys(sinkCommonShape),
  task: Object.keys(taskCommonShape),
} as const;

export type BufferConfig = z.output<typeof bufferSchema>;
export type BatchConfig = z.output<typeof batchSchema>;
export type RetryConfig = z.output<typeof retrySchema>;
