import t from 'tap';
import type { ConfigError } from '../../../index.js';
import { loadTestConfig, tempDir } from '../../../testing/index.js';
import plugin from './index.js';
import { prometheusScrapeConfig } from './config.js';

t.test('defaults', async (t) => {
  const config = prometheusScrapeConfig.parse({ endpoints: ['http://127.0.0.1:9100/metrics'] });
  t.match(config, {
    interval: 15_000,
    timeout: 10_000,
    max_body_bytes: 50 * 1024 * 1024,
    honor_labels: false,
    honor_timestamps: true,
    compression: 'gzip',
    fallback_format: 'prometheus_text',
    created_samples: 'keep',
    scheme: 'http',
    metrics_path: '/metrics',
    follow_redirects: true,
  });
  t.same(plugin.validate?.(config), []);
});

t.test('every problem is reported with its key path', async (t) => {
  const toml = `
[sources.node]
type = "prometheus_scrape"
endpoints = ["not a url", 42, { url = "http://ok:1/metrics", labels = { "bad-label" = "x" } }]
file_sd = { files = ["/etc/targets/*.txt"] }
interval = "5s"
timeout = "5s"
bearer_token = "a"
bearer_token_file = "/run/token"
basic_auth = { username = "u", password = "p", password_file = "/run/p" }
tls = { cert_file = "/etc/cert.pem" }
max_body_bytes = "1TiB"

[sinks.out]
type = "blackhole"
inputs = ["node"]
`;
  const err = (await loadTestConfig(toml, { dataDir: tempDir(t) }).catch((e: unknown) => e)) as ConfigError;
  t.equal(err.code, 'TC_CONFIG_INVALID');
  t.same(
    err.issues.map((i) => [i.path, i.line, i.message]),
    [
      // Lines count the three lines loadTestConfig puts in front (data_dir and [api]).
      [
        'sources.node.endpoints[1]',
        7,
        'must be a URL string, or a table `{ url = "http://host:port/metrics", labels = { name = "value" } }` without other keys',
      ],
      ['sources.node.max_body_bytes', 15, 'must be between 1 byte and 512MiB'],
    ],
    'schema errors first, with their lines (the semantic checks run once the schema passes)',
  );

  const semantic = prometheusScrapeConfig.parse({
    endpoints: ['not a url', 'ftp://host/metrics', { url: 'http://ok:1/metrics', labels: { 'bad-label': 'x' } }],
    labels: { '1x': 'y' },
    file_sd: { files: ['/etc/targets/*.txt', '/etc/*/x.json'] },
    interval: '5s',
    timeout: '5s',
    bearer_token: 'a',
    bearer_token_file: '/run/token',
    basic_auth: { username: 'u', password: 'p', password_file: '/run/p' },
    tls: { cert_file: '/etc/cert.pem' },
  });
  t.same(plugin.validate?.(semantic), [
    { path: ['endpoints', 0], message: '"not a url" is not a URL: write e.g. "http://127.0.0.1:9100/metrics"' },
    { path: ['endpoints', 1], message: '"ftp://host/metrics" must be an http:// or https:// URL' },
    { path: ['labels', '1x'], message: 'is not a Prometheus label name: use letters, digits and "_", not starting with a digit' },
    { path: ['endpoints', 2, 'labels', 'bad-label'], message: 'is not a Prometheus label name: use letters, digits and "_", not starting with a digit' },
    { path: ['file_sd', 'files', 0], message: '"/etc/targets/*.txt" must end in .json, .yml or .yaml' },
    { path: ['file_sd', 'files', 1], message: '"/etc/*/x.json": wildcards are only allowed in the last path segment (the file name)' },
    { path: ['timeout'], message: 'must be below interval (5s >= 5s), so that scrapes of a target never overlap' },
    { path: ['bearer_token_file'], message: 'set only one of bearer_token, bearer_token_file, basic_auth' },
    { path: ['basic_auth', 'password_file'], message: 'set either password or password_file, not both' },
    { path: ['tls', 'key_file'], message: 'a client certificate needs both cert_file and key_file' },
  ]);
  t.same(plugin.validate?.(prometheusScrapeConfig.parse({})), [
    { path: ['endpoints'], message: 'give at least one target: `endpoints = ["http://host:port/metrics"]` or a `file_sd` table' },
  ]);
});

t.test('the validation error reaches the user with the key path', async (t) => {
  const toml = `
[sources.node]
type = "prometheus_scrape"
endpoints = ["http://127.0.0.1:9100/metrics"]
interval = "10s"
timeout = "30s"

[sinks.out]
type = "blackhole"
inputs = ["node"]
`;
  const err = (await loadTestConfig(toml, { dataDir: tempDir(t) }).catch((e: unknown) => e)) as ConfigError;
  t.match(err.message, /sources\.node\.timeout: must be below interval \(30s >= 10s\)/);
});
