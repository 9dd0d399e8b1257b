import { z } from 'zod';
import { duration } from '../../../index.js';

const path = (signal: string) =>
  z
    .string()
    .regex(/^\//, 'must start with "/"')
    .default(`/v1/${signal}`)
    .describe(`URL path for ${signal}, appended to \`endpoint\`. OTLP/HTTP receivers accept \`/v1/${signal}\`.`);

export const otlpSinkConfig = z.strictObject({
  endpoint: z
    .url({ protocol: /^https?$/ })
    .describe('Base URL of the OTLP/HTTP receiver, e.g. "http://gateway.internal:4318" (a Thermocline gateway or an OpenTelemetry Collector).'),
  paths: z
    .strictObject({ traces: path('traces'), logs: path('logs'), metrics: path('metrics') })
    .prefault({})
    .describe('URL paths per signal.'),
  compression: z.enum(['gzip', 'none']).default('gzip').describe('Compress request bodies with gzip (OTLP receivers must accept it).'),
  timeout: duration().prefault('30s').describe('How long one request may take before it counts as failed and is retried, e.g. "30s".'),
  headers: z.record(z.string(), z.string()).default({}).describe('Extra HTTP headers sent with every request.'),
  auth: z
    .strictObject({
      bearer_token: z.string().min(1).describe('Sent as `Authorization: Bearer <token>`. Write it as "${OTLP_TOKEN}" to keep it out of the file.'),
    })
    .optional()
    .describe('Bearer-token authentication, matching the `auth` of an `otlp_http` source.'),
  tls: z
    .strictObject({
      ca_file: z.string().optional().describe('PEM file with the CA certificate(s) to trust for an https endpoint, in addition to the system ones.'),
      insecure_skip_verify: z.boolean().default(false).describe('Accept any server certificate. Only for testing.'),
    })
    .prefault({})
    .describe('TLS settings for an https endpoint.'),
});

export type OtlpSinkConfig = z.output<typeof otlpSinkConfig>;
