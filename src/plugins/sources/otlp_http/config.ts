import { z } from 'zod';
import { byteSize, httpLimitsSchema, listenAddress } from '../../../index.js';

const urlPath = (signal: string, fallback: string) =>
  z
    .string()
    .regex(/^\/[^\s?#]*$/, 'must be an absolute URL path such as "/v1/traces" (no query string)')
    .default(fallback)
    .describe(`The URL path that accepts ${signal}. Change it only behind a proxy that rewrites paths; OpenTelemetry SDKs post to \`${fallback}\`.`);

export const otlpHttpConfig = z.strictObject({
  address: listenAddress()
    .default('127.0.0.1:4318')
    .describe(
      'The address to listen on, as `host:port`. 4318 is the OTLP/HTTP port of the specification; use `0.0.0.0:4318` to accept connections from other machines.',
    ),
  max_body_bytes: byteSize()
    .default(20 * 1024 * 1024)
    .describe(
      'The largest request body accepted, checked both on the wire and after decompression (a small gzip body that inflates past it is refused too). Larger requests get 413. A number of bytes or a size such as "20MiB" (the default).',
    ),
  max_items_per_request: z
    .number()
    .int()
    .positive()
    .default(50_000)
    .describe(
      'The most spans, log records or metric data points one request may carry; a larger request is refused whole with 413 (`TC_OTLP_TOO_MANY_ITEMS`), which exporters do not retry. The default is six times the OpenTelemetry Collector batch processor\'s `send_batch_size` (8192) and a hundred times the SDKs\' export batch (512), and bounds the events one request holds in memory.',
    ),
  max_attributes_per_item: z
    .number()
    .int()
    .positive()
    .default(128)
    .describe(
      'The most attributes kept per span, span event, span link, log record, metric data point, resource and scope: the first ones on the wire are kept, the rest dropped and counted in `thermocline_otlp_http_attributes_dropped_total`. 128 is the OpenTelemetry SDKs\' `AttributeCountLimit`.',
    ),
  max_attribute_value_bytes: byteSize()
    .default(4096)
    .describe(
      'Attribute values longer than this many UTF-8 bytes are cut (never inside a character) and counted in `thermocline_otlp_http_attribute_values_truncated_total`. A number of bytes or a size such as "4KiB"; the default is 4096. The SDKs leave `AttributeValueLengthLimit` unlimited; 4096 bytes keeps any URL, SQL statement or stack frame that is still useful as a label while one attribute cannot carry megabytes into every store. Array and map values are limited as their JSON text, so a cut one is no longer valid JSON.',
    ),
  max_concurrent_decode_bytes: byteSize()
    .default(64 * 1024 * 1024)
    .describe(
      'The body bytes this source decodes at once, across all requests. Decoding takes several times a body\'s size in memory, so a burst of large requests waits for its turn instead of being decoded together; one request larger than this is decoded alone. The default, "64MiB", lets three bodies of the default `max_body_bytes` decode together and never delays ordinary SDK requests (kilobytes).',
    ),
  decode_wait_secs: z
    .number()
    .nonnegative()
    .max(60)
    .default(2)
    .describe(
      'How long a request waits for its share of `max_concurrent_decode_bytes` before it gets 503 with `Retry-After`. Waiting requests hold their bodies in memory and their connections open, so the wait is short: about the time two 20 MiB bodies take to decode.',
    ),
  retry_after_secs: z
    .number()
    .int()
    .positive()
    .max(3600)
    .default(5)
    .describe(
      'The `Retry-After` value, in seconds, sent with 503 when a downstream queue is full or the agent is stopping. OpenTelemetry exporters wait that long before retrying.',
    ),
  paths: z
    .strictObject({
      traces: urlPath('traces', '/v1/traces'),
      logs: urlPath('logs', '/v1/logs'),
      metrics: urlPath('metrics', '/v1/metrics'),
    })
    .prefault({})
    .describe('The URL path of each signal.'),
  metric_resource_labels: z
    .array(z.string().min(1))
    .default(['service.namespace', 'service.instance.id', 'host.name'])
    .describe(
      'Resource attributes copied onto every metric point as labels named `resource.<attribute>`, so that the same metric from two processes or hosts stays two series. `service.name` always becomes the label `service`. Other resource attributes are not copied to metrics, to keep series cardinality low.',
    ),
  log_events: z
    .enum(['logs', 'events'])
    .default('logs')
    .describe(
      'What a log record that carries `event.name` (OpenTelemetry Events) becomes: a `log` like any other (`logs`, the default), or a business `event` of that type whose payload is the record\'s attributes and body (`events`; see docs/events.md). Names that are not valid event types stay logs.',
    ),
  registry: z
    .string()
    .min(1)
    .optional()
    .describe('With `log_events = "events"`: the id of a `postgres` sink of this config whose database holds the schema registry. Events of a registered type are validated against its schema; an invalid one goes to the dead-letter table with the schema version and every error (OTLP cannot refuse one record of a request), and the response\'s `partial_success` counts it.'),
  unregistered: z
    .enum(['accept', 'dead_letter'])
    .default('accept')
    .describe('With `log_events = "events"`: what happens to events of a type without a registered schema: `accept` queues them (into `events_generic`), `dead_letter` puts them in the dead-letter table.'),
  registry_poll_secs: z.number().int().positive().max(3600).default(30).describe('How often the registry is read again in case a change notification was missed.'),
  auth: z
    .strictObject({
      bearer_token: z
        .string()
        .min(1)
        .describe('Requests must carry `Authorization: Bearer <token>` with this token, or get 401. Write it as `"${OTLP_TOKEN}"` to keep it out of the file.'),
    })
    .optional()
    .describe('Optional bearer-token authentication. Without this table every request is accepted.'),
  tls: z
    .strictObject({
      cert_file: z.string().min(1).describe('PEM file with the server certificate (and its chain).'),
      key_file: z.string().min(1).describe('PEM file with the private key of the certificate.'),
    })
    .optional()
    .describe('Serve HTTPS instead of plain HTTP. Both files are read when the source starts.'),
  cors: z
    .strictObject({
      allowed_origins: z
        .array(z.string().min(1))
        .default([])
        .describe(
          'Origins allowed to post from a browser, e.g. `["https://app.example.com"]`; `"*"` allows any origin. Empty (the default) turns CORS off: no CORS headers are sent and preflight requests get 405.',
        ),
      allowed_headers: z
        .array(z.string().min(1))
        .default([])
        .describe('Request headers allowed in addition to `Content-Type`, `Content-Encoding` and `Authorization`.'),
      max_age_secs: z.number().int().nonnegative().default(7200).describe('How long browsers may cache a preflight answer.'),
    })
    .prefault({})
    .describe('Cross-origin requests from browsers (OpenTelemetry web SDKs).'),
  http: httpLimitsSchema(),
});

export type OtlpHttpConfig = z.output<typeof otlpHttpConfig>;
