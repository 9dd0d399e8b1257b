import zlib from 'node:zlib';
import client from 'prom-client';
import t from 'tap';
import { received, eventually, startPipeline } from '../../../testing/index.js';
import { ACCEPT_HEADER } from './negotiation.js';
import { firstScrape, metrics, reportSeries, serve, timeless } from './testdata/helpers.js';

/**
 * Scrapes over real HTTP through the real runtime into `memory_recorder`: prom-client registries
 * in both formats, the OpenMetrics spec's examples, gzip, honor_labels, malformed lines.
 */

function pipeline(sink: string, options: string): string {
  return `
[sources.app]
type = "prometheus_scrape"
interval = "1s"
timeout = "900ms"
${options}

[sinks.${sink}]
type = "memory_recorder"
inputs = ["app"]
`;
}

/** A prom-client registry with every metric type and label values that need escaping. */
function appRegistry(openMetrics = false) {
  // prom-client's typings omit the constructor's content-type argument; setContentType is typed.
  const registry = new client.Registry() as unknown as client.Registry<client.RegistryContentType>;
  if (openMetrics) registry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
  const requests = new client.Counter({ name: 'http_requests_total', help: 'Requests.', labelNames: ['method', 'path'], registers: [registry] });
  requests.inc({ method: 'GET', path: 'say "hi"' }, 3);
  requests.inc({ method: 'POST', path: 'C:\\dir\\file' }, 1);
  requests.inc({ method: 'PUT', path: 'two\nlines' }, 2);
  const temp = new client.Gauge({ name: 'temperature_celsius', help: 'Temperature.', registers: [registry] });
  temp.set(-1.5);
  const latency = new client.Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.1, 1], registers: [registry] });
  latency.observe({ route: '/x' }, 0.05);
  latency.observe({ route: '/x' }, 2);
  const size = new client.Summary({ name: 'size_bytes', help: 'Sizes.', percentiles: [0.5, 0.9], registers: [registry] });
  size.observe(10);
  return registry;
}

t.test('a prom-client registry in the text format lands as exact events', async (t) => {
  const registry = appRegistry();
  const target = await serve(t, async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.end(await registry.metrics());
  });
  const before = Date.now() * 1000;
  await startPipeline(t, pipeline('rec_text', `endpoints = ["${target.url}"]\ncompression = "none"`));
  await eventually(() => firstScrape(received('rec_text')).length > 0, 10_000, 'a scrape');
  const events = firstScrape(received('rec_text'));
  const job = 'app';
  const instance = `127.0.0.1:${target.port}`;
  const base = { instance, job };
  const duration = events.find((e) => e.name === 'scrape_duration_seconds');
  t.same(timeless(events), [
    { kind: 'metric', name: 'http_requests_total', labels: { ...base, method: 'GET', path: 'say "hi"' }, type: 'counter', value: 3 },
    { kind: 'metric', name: 'http_requests_total', labels: { ...base, method: 'POST', path: 'C:\\dir\\file' }, type: 'counter', value: 1 },
    { kind: 'metric', name: 'http_requests_total', labels: { ...base, method: 'PUT', path: 'two\nlines' }, type: 'counter', value: 2 },
    { kind: 'metric', name: 'temperature_celsius', labels: base, type: 'gauge', value: -1.5 },
    {
      kind: 'metric',
      name: 'latency_seconds',
      labels: { ...base, route: '/x' },
      type: 'histogram',
      histogram: { count: 2, sum: 2.05, buckets: { '0.1': 1, '1': 1, '+Inf': 2 } },
    },
    { kind: 'metric', name: 'size_bytes', labels: { ...base, quantile: '0.5' }, type: 'summary', value: 10 },
    { kind: 'metric', name: 'size_bytes', labels: { ...base, quantile: '0.9' }, type: 'summary', value: 10 },
    { kind: 'metric', name: 'size_bytes_sum', labels: base, type: 'counter', value: 10 },
    { kind: 'metric', name: 'size_bytes_count', labels: base, type: 'counter', value: 1 },
    { kind: 'metric', name: 'up', labels: base, type: 'gauge', value: 1 },
    { kind: 'metric', name: 'scrape_duration_seconds', labels: base, type: 'gauge', value: duration?.type === 'gauge' ? duration.value : -1 },
    { kind: 'metric', name: 'scrape_samples_scraped', labels: base, type: 'gauge', value: 13 },
  ]);
  t.ok(duration?.type === 'gauge' && duration.value > 0 && duration.value < 0.9, 'the scrape took less than the timeout');
  const times = new Set(events.map((e) => e.time_us));
  t.equal(times.size, 1, 'every sample of a scrape carries the scrape start time');
  const [time] = [...times] as [number];
  t.ok(time >= before && time <= Date.now() * 1000, 'in microseconds, during the test');

  const request = target.requests[0];
  t.equal(request?.headers.accept, ACCEPT_HEADER, 'Accept header as Prometheus sends it');
  t.equal(request?.headers['accept-encoding'], 'identity', 'compression = "none"');
  t.match(request?.headers['user-agent'], /^Thermocline\/\d+\.\d+\.\d+/);
  t.equal(request?.headers['x-prometheus-scrape-timeout-seconds'], '0.9');
});

t.test('a prom-client OpenMetrics registry, gzip-compressed', async (t) => {
  const registry = appRegistry(true);
  const target = await serve(t, async (req, res) => {
    res.setHeader('content-type', registry.contentType);
    const body = await registry.metrics();
    if (/gzip/.test(req.headers['accept-encoding'] ?? '')) {
      res.setHeader('content-encoding', 'gzip');
      res.end(zlib.gzipSync(body));
    } else res.end(body);
  });
  const { runtime } = await startPipeline(t, pipeline('rec_om', `endpoints = ["${target.url}"]`));
  await eventually(() => firstScrape(received('rec_om')).length > 0, 10_000, 'a scrape');
  const events = firstScrape(received('rec_om'));
  t.equal(target.requests[0]?.headers['accept-encoding'], 'gzip');
  t.same(
    events.map((e) => [e.name, e.type]),
    [
      ['http_requests_total', 'counter'],
      ['http_requests_total', 'counter'],
      ['http_requests_total', 'counter'],
      ['temperature_celsius', 'gauge'],
      ['latency_seconds', 'histogram'],
      ['size_bytes', 'summary'],
      ['size_bytes', 'summary'],
      ['size_bytes_sum', 'counter'],
      ['size_bytes_count', 'counter'],
      ['up', 'gauge'],
      ['scrape_duration_seconds', 'gauge'],
      ['scrape_samples_scraped', 'gauge'],
    ],
    'OpenMetrics counters keep their sample name (foo_total), as Prometheus stores them',
  );
  t.same(events.find((e) => e.name === 'http_requests_total')?.labels, { instance: `127.0.0.1:${target.port}`, job: 'app', method: 'GET', path: 'say "hi"' });
  t.equal(reportSeries(events, 'up')[0], 1);
  const text = await runtime.metrics.text();
  t.match(
    text,
    /thermocline_component_received_bytes_total\{component_id="app",component_kind="source",component_type="prometheus_scrape"\} [1-9]/,
    'wire bytes are counted',
  );
});

t.test('the OpenMetrics specification example, with timestamps honoured or not', async (t) => {
  const body = `# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE go_goroutines gauge
go_goroutines 69 1605281325.5
# TYPE foo histogram
foo_bucket{le="0.0"} 0
foo_bucket{le="1e-05"} 0
foo_bucket{le="+Inf"} 17 # {trace_id="KOO5S4vxi0o"} 0.67
foo_count 17
foo_sum 324789.3
# EOF
`;
  const target = await serve(t, (_req, res) => {
    res.setHeader('content-type', 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    res.end(body);
  });
  await startPipeline(t, pipeline('rec_spec', `endpoints = ["${target.url}"]\ncreated_samples = "drop"`));
  await eventually(() => firstScrape(received('rec_spec')).length > 0, 10_000, 'a scrape');
  const events = firstScrape(received('rec_spec'));
  t.same(
    events.map((e) => e.name),
    [
      'acme_http_router_request_seconds_sum',
      'acme_http_router_request_seconds_count',
      'go_goroutines',
      'foo',
      'up',
      'scrape_duration_seconds',
      'scrape_samples_scraped',
    ],
    'created_samples = "drop" leaves out _created',
  );
  t.equal(events.find((e) => e.name === 'go_goroutines')?.time_us, 1_605_281_325_500_000, 'the sample timestamp (seconds) is honoured');
  t.equal(reportSeries(events, 'scrape_samples_scraped')[0], 8);

  const off = await serve(t, (_req, res) => {
    res.setHeader('content-type', 'application/openmetrics-text; version=1.0.0');
    res.end(body);
  });
  await startPipeline(t, pipeline('rec_spec_nots', `endpoints = ["${off.url}"]\nhonor_timestamps = false`));
  await eventually(() => firstScrape(received('rec_spec_nots')).length > 0, 10_000, 'a scrape');
  const plain = firstScrape(received('rec_spec_nots'));
  t.not(plain.find((e) => e.name === 'go_goroutines')?.time_us, 1_605_281_325_500_000, 'honor_timestamps = false');
  t.ok(
    plain.some((e) => e.name === 'acme_http_router_request_seconds_created' && e.type === 'gauge'),
    'created_samples = "keep" (the default) stores _created as a gauge, as Prometheus does',
  );
});

t.test('honor_labels both ways, with static labels and per-endpoint labels', async (t) => {
  const target = await serve(t, (_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end('m{job="theirs",instance="their-host",env="dev",team="a"} 1\n');
  });
  const endpoints = `endpoints = [{ url = "${target.url}", labels = { instance = "node-1" } }]\njob = "exporter"\nlabels = { env = "prod" }`;
  await startPipeline(t, pipeline('rec_rename', endpoints));
  await startPipeline(
    t,
    pipeline('rec_honor', `${endpoints}\nhonor_labels = true`).replace('[sources.app]', '[sources.app2]').replace('inputs = ["app"]', 'inputs = ["app2"]'),
  );
  await eventually(() => firstScrape(received('rec_rename')).length > 0 && firstScrape(received('rec_honor')).length > 0, 10_000, 'scrapes');
  t.same(metrics(received('rec_rename')).find((e) => e.name === 'm')?.labels, {
    env: 'prod',
    exported_env: 'dev',
    exported_instance: 'their-host',
    exported_job: 'theirs',
    instance: 'node-1',
    job: 'exporter',
    team: 'a',
  });
  t.same(metrics(received('rec_honor')).find((e) => e.name === 'm')?.labels, { env: 'dev', instance: 'their-host', job: 'theirs', team: 'a' });
  t.same(
    metrics(received('rec_honor')).find((e) => e.name === 'up')?.labels,
    { env: 'prod', instance: 'node-1', job: 'exporter' },
    'the synthetic series always carry the target labels',
  );
});

t.test('malformed lines are skipped, counted and logged with line numbers; the rest is kept', async (t) => {
  const target = await serve(t, (_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end('good 1\nbad{ 2\nalso_good 3\nworse 1 2 3\n');
  });
  const { runtime, logs } = await startPipeline(t, pipeline('rec_bad', `endpoints = ["${target.url}"]`));
  await eventually(() => firstScrape(received('rec_bad')).length > 0, 10_000, 'a scrape');
  const events = firstScrape(received('rec_bad'));
  t.same(
    events.map((e) => e.name),
    ['good', 'also_good', 'up', 'scrape_duration_seconds', 'scrape_samples_scraped'],
  );
  t.equal(reportSeries(events, 'up')[0], 1, 'a scrape with some malformed lines is still up');
  t.equal(reportSeries(events, 'scrape_samples_scraped')[0], 2);
  const line = logs.lines.find((l) => l.code === 'TC_PROM_MALFORMED_LINE');
  t.match(line, { level: 40, malformed: 2, errors: [{ line: 2 }, { line: 4 }] });
  t.match(String(line?.msg), /2 malformed line\(s\) in the scrape of http:\/\/127\.0\.0\.1:\d+\/metrics were skipped, the rest kept; line 2: /);
  t.match(await runtime.metrics.text(), /thermocline_prometheus_scrape_malformed_lines_total\{component_id="app"\} [2-9]/);
  t.match(
    await runtime.metrics.text(),
    /thermocline_component_errors_total\{component_id="app",component_kind="source",component_type="prometheus_scrape",error_type="parse"\} [2-9]/,
  );
});
