import { z } from 'zod';
import { byteSize, duration } from '../../../index.js';

// Label names are checked in the plugin's `validate`, which can name the offending key (a key
// rule inside a zod record only says "Invalid key in record").
const labelMap = () => z.record(z.string(), z.string());

const endpoint = z.union(
  [
    z.string(),
    z.strictObject({
      url: z.string().describe('The URL to scrape.'),
      labels: labelMap().default({}).describe('Labels for this endpoint only (they win over `labels`), e.g. `{ instance = "db-1" }`.'),
    }),
  ],
  { error: 'must be a URL string, or a table `{ url = "http://host:port/metrics", labels = { name = "value" } }` without other keys' },
);

export const prometheusScrapeConfig = z.strictObject({
  endpoints: z
    .array(endpoint)
    .default([])
    .describe(
      'Static targets: full URLs such as "http://127.0.0.1:9100/metrics", or tables `{ url = "...", labels = { ... } }` to give one endpoint its own labels. The `instance` label defaults to the URL\'s host:port.',
    ),
  file_sd: z
    .strictObject({
      files: z
        .array(z.string().min(1))
        .min(1)
        .describe(
          'Target files in the Prometheus file-SD format (`[{ "targets": ["host:port"], "labels": { ... } }]`), JSON (`.json`) or YAML (`.yml`, `.yaml`). The last path segment may contain `*` and `?` wildcards, e.g. "/etc/thermocline/targets/*.json". Relative paths resolve from the working directory of the agent.',
        ),
      refresh_interval: duration()
        // prefault, not default: zod 4 returns a default as is, without running the unit transform.
        .prefault('5m')
        .describe('Re-read every file at this interval, in addition to re-reading a file as soon as it changes on disk.'),
    })
    .optional()
    .describe('Discover targets from files, re-read when they change (Prometheus `file_sd_configs`).'),
  job: z
    .string()
    .min(1)
    .optional()
    .describe('The `job` label of every target, unless a target sets its own. Defaults to the component id (the key under `[sources]`).'),
  labels: labelMap().default({}).describe('Extra labels added to every target (a target\'s own labels win), e.g. `{ env = "prod" }`.'),
  interval: duration().prefault('15s').describe('How often each target is scraped.'),
  timeout: duration().prefault('10s').describe('How long one scrape may take, from connecting to the last byte of the body. Must be below `interval`.'),
  honor_labels: z
    .boolean()
    .default(false)
    .describe(
      "When a scraped series carries a label that is also a target label (`job`, `instance`, `labels`): `false` keeps the target's value and renames the scraped one to `exported_<name>`; `true` keeps the scraped value. Same as Prometheus.",
    ),
  honor_timestamps: z
    .boolean()
    .default(true)
    .describe(
      'Use the timestamps a target writes on its samples. When `false`, or when a sample has none, the sample gets the time the scrape started. Same as Prometheus.',
    ),
  scheme: z.enum(['http', 'https']).default('http').describe('URL scheme for `file_sd` targets, unless a target group sets the `__scheme__` label.'),
  metrics_path: z
    .string()
    .regex(/^\//, 'must start with "/"')
    .default('/metrics')
    .describe('URL path for `file_sd` targets, unless a target group sets the `__metrics_path__` label.'),
  params: z
    .record(z.string(), z.union([z.string(), z.array(z.string())]))
    .default({})
    .describe(
      'URL query parameters added to every scrape request, e.g. `{ module = "http_2xx" }`. A `__param_<name>` label of a `file_sd` group overrides one.',
    ),
  max_body_bytes: byteSize()
    .refine((n) => n > 0 && n <= 512 * 1024 * 1024, 'must be between 1 byte and 512MiB')
    .prefault('50MiB')
    .describe(
      'Largest response body accepted, counted after gzip decompression (and before it, on the wire). A larger body fails the scrape (`up` = 0) without being read further.',
    ),
  compression: z
    .enum(['gzip', 'none'])
    .default('gzip')
    .describe('"gzip" asks targets for a gzip-compressed body (`Accept-Encoding: gzip`); "none" asks for an uncompressed one.'),
  fallback_format: z
    .enum(['prometheus_text', 'openmetrics_text', 'fail'])
    .default('prometheus_text')
    .describe(
      'How to read a body whose `Content-Type` is neither `application/openmetrics-text` nor `text/plain` (or is missing): as the Prometheus text format 0.0.4, as OpenMetrics, or fail the scrape.',
    ),
  created_samples: z
    .enum(['keep', 'drop'])
    .default('keep')
    .describe(
      'OpenMetrics `<name>_created` samples of counters, histograms and summaries. "keep" stores them as gauges, as Prometheus does by default; "drop" discards them, as Prometheus does with created-timestamp zero ingestion enabled.',
    ),
  follow_redirects: z.boolean().default(true).describe('Follow HTTP redirects (up to 10), as Prometheus does.'),
  bearer_token: z
    .string()
    .min(1)
    .optional()
    .describe('Sends `Authorization: Bearer <token>`. Write `"${TOKEN_VAR}"` to take it from the environment; it is never logged.'),
  bearer_token_file: z.string().min(1).optional().describe('Read the bearer token from this file before every scrape (so a rotated token is picked up).'),
  basic_auth: z
    .strictObject({
      username: z.string().describe('The user name.'),
      password: z.string().optional().describe('The password; write `"${VAR}"` to take it from the environment.'),
      password_file: z.string().min(1).optional().describe('Read the password from this file before every scrape.'),
    })
    .optional()
    .describe('HTTP basic authentication.'),
  tls: z
    .strictObject({
      ca_file: z.string().min(1).optional().describe("PEM file with the CA certificates that sign the targets' certificates (the system CAs otherwise)."),
      cert_file: z.string().min(1).optional().describe('PEM client certificate, for targets that require mutual TLS. Needs `key_file`.'),
      key_file: z.string().min(1).optional().describe('PEM private key of `cert_file`.'),
      server_name: z
        .string()
        .min(1)
        .optional()
        .describe("Server name to verify the certificate against (and send as SNI), when it differs from the URL's host."),
      insecure_skip_verify: z
        .boolean()
        .default(false)
        .describe('Accept any server certificate. This makes TLS pointless against an active attacker: prefer `ca_file`.'),
    })
    .optional()
    .describe('TLS options for `https` targets.'),
});

export type PrometheusScrapeConfig = z.output<typeof prometheusScrapeConfig>;
