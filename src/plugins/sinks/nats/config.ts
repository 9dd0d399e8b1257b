import { byteSize, duration, z } from '../../../index.js';
import { natsConnectionOptions } from './connection.js';

const token = z.string().regex(/^[A-Za-z0-9_-]+$/, 'a subject token: letters, digits, "_" and "-" only');

export const natsSinkConfig = z.strictObject({
  ...natsConnectionOptions,
  subject: z
    .string()
    .regex(/^[A-Za-z0-9_\-{}.]+$/, 'letters, digits, "_", "-", "." and {field} placeholders only (no wildcards)')
    .default('telemetry.{kind}')
    .describe('Subject to publish to. Placeholders: `{kind}` (log, metric, span, event) and `{service}`. Every placeholder except `{kind}` needs its allowed values in `subject_values`, so the set of subjects stays bounded.'),
  subject_values: z
    .strictObject({
      service: z.array(token).min(1).max(1000).optional().describe('Allowed values of `{service}`; any other service publishes under `_other`, an empty one under `_none`.'),
    })
    .prefault({})
    .describe('Allowed values of each subject placeholder.'),
  format: z
    .enum(['batch', 'otlp_proto'])
    .default('batch')
    .describe('Message body: `batch` is the queue\'s compact encoding (`tc-batch/1`), which a `nats` source reads; `otlp_proto` is an OTLP/protobuf export request per signal (`otlp-proto/1`), for consumers that are not Thermocline.'),
  stream: z
    .strictObject({
      name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'a stream name: letters, digits, "_" and "-"').max(64).default('TELEMETRY').describe('JetStream stream that stores the subjects.'),
      mode: z
        .enum(['create_or_verify', 'verify'])
        .default('create_or_verify')
        .describe('`create_or_verify` creates the stream when it is missing; `verify` only checks it. Either way an existing stream whose settings differ is an error (`TC_NATS_STREAM_INCOMPATIBLE`), never changed.'),
      subjects: z.array(z.string().min(1)).min(1).optional().describe('Subjects the stream captures; by default the `subject` template with each placeholder as `*`.'),
      replicas: z.number().int().min(1).max(5).default(1).describe('Copies of each message across the cluster (3 in production: one node may be lost).'),
      max_age: duration().prefault('7d').describe('How long the stream keeps a message, acknowledged or not, e.g. "7d". Size it to the longest gateway outage to survive.'),
      max_bytes: byteSize().prefault('10GiB').describe('Most bytes the stream keeps (per replica); at the limit new publishes are refused and stay queued at the edge.'),
      duplicate_window: duration().prefault('2m').describe('How long the stream remembers `Nats-Msg-Id`s to drop a republished batch; longer than the longest edge restart.'),
      storage: z.enum(['file', 'memory']).default('file').describe('Where the servers keep the stream.'),
    })
    .prefault({})
    .describe('The JetStream stream, created or verified at start.'),
  max_message_bytes: byteSize()
    .optional()
    .describe('Largest message body; larger batches are split into several messages. Defaults to the server\'s `max_payload` (1 MiB unless configured) less room for headers.'),
});

export type NatsSinkConfig = z.output<typeof natsSinkConfig>;
