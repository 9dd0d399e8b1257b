import { byteSize, httpLimitsSchema, listenAddress, z } from '../../../index.js';

export const httpEventsConfig = z.strictObject({
  address: listenAddress()
    .default('127.0.0.1:8688')
    .describe('The address to listen on, as `host:port`. Use `0.0.0.0:8688` to accept events from other machines.'),
  path: z
    .string()
    .regex(/^\/[^\s?#]*$/, 'must be an absolute URL path such as "/v1/events"')
    .default('/v1/events')
    .describe('The URL path that accepts events (`POST`, JSON or NDJSON).'),
  schemas_path: z
    .string()
    .regex(/^\/[^\s?#]*$/, 'must be an absolute URL path such as "/v1/schemas"')
    .default('/v1/schemas')
    .describe('The URL path of the registration endpoint: `POST <schemas_path>/<event type>` with the schema as the body, `GET <schemas_path>` lists the types in use. Needs `registry` and `schema_api.bearer_token`.'),
  max_body_bytes: byteSize()
    .default(10 * 1024 * 1024)
    .describe('The largest request body accepted, on the wire and after decompression; larger requests get 413. A number of bytes or a size such as "10MiB" (the default).'),
  max_events: z.number().int().positive().max(1_000_000).default(10_000).describe('The most events one request may carry; more get 413.'),
  max_concurrent_decode_bytes: byteSize()
    .default(32 * 1024 * 1024)
    .describe(
      'The body bytes this source parses and validates at once, across all requests. Parsing JSON takes several times a body\'s size in memory, so a burst of large requests waits for its turn instead of being parsed together; one request larger than this is parsed alone. The default, "32MiB", lets three bodies of the default `max_body_bytes` be parsed together.',
    ),
  decode_wait_secs: z
    .number()
    .nonnegative()
    .max(60)
    .default(2)
    .describe(
      'How long a request waits for its share of `max_concurrent_decode_bytes` before it gets 503 with `Retry-After` (`TC_EVENTS_DECODE_BUSY`). Waiting requests hold their bodies in memory and their connections open, so the wait is short.',
    ),
  retry_after_secs: z
    .number()
    .int()
    .positive()
    .max(3600)
    .default(5)
    .describe('The `Retry-After` value, in seconds, sent with 503 when a downstream queue is full or the agent is stopping.'),
  registry: z
    .string()
    .min(1)
    .optional()
    .describe('The id of a `postgres` sink of this config whose database holds the schema registry (`schema_registry`). Without it no type is registered and every event follows `unregistered`.'),
  unregistered: z
    .enum(['accept', 'reject', 'dead_letter'])
    .default('accept')
    .describe('What happens to events of a type without a registered schema: `accept` queues them (into `events_generic`), `reject` refuses them in the response, `dead_letter` answers 200 and puts them in the dead-letter table.'),
  schemas: z
    .array(z.string().min(1))
    .default([])
    .describe('Schema files registered at start and on SIGHUP, as paths or globs relative to the working directory (`["./schemas/*.json"]`). The file name without `.json` is the event type. Needs `registry`.'),
  registry_poll_secs: z.number().int().positive().max(3600).default(30).describe('How often the registry is read again in case a change notification was missed (changes normally arrive by LISTEN/NOTIFY within a second).'),
  auth: z
    .strictObject({
      bearer_token: z.string().min(1).describe('Requests must carry `Authorization: Bearer <token>` with this token, or get 401. Write it as `"${EVENTS_TOKEN}"`.'),
    })
    .optional()
    .describe('Optional bearer-token authentication of the events endpoint.'),
  schema_api: z
    .strictObject({
      bearer_token: z.string().min(1).describe('The token that registering schemas over HTTP needs (`Authorization: Bearer <token>`); keep it apart from the producers\' token.'),
    })
    .optional()
    .describe('Enables the registration endpoint. Without it, `schemas_path` answers 403.'),
  http: httpLimitsSchema(),
});

export type HttpEventsConfig = z.output<typeof httpEventsConfig>;
