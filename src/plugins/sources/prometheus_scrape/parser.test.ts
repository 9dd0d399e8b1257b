import fs from 'node:fs';
import t from 'tap';
import type { MetricEvent } from '../../../index.js';
import { LabelMerger } from './labels.js';
import { EventMapper } from './mapper.js';
import { looksLikeExposition, parseExposition, unescapeLabelValue, type ExpositionFormat } from './parser.js';
import { eventsFromBody } from './scrape.js';

const NOW = 1_700_000_000_000_000; // scrape time in µs
const TARGET = { instance: 'host:9100', job: 'node' };

function parse(
  text: string,
  options: { format?: ExpositionFormat; honorLabels?: boolean; honorTimestamps?: boolean; dropCreated?: boolean; target?: Record<string, string> } = {},
) {
  const mapper = new EventMapper({
    labels: new LabelMerger(options.target ?? TARGET, options.honorLabels ?? false),
    scrapeTimeUs: NOW,
    honorTimestamps: options.honorTimestamps ?? true,
    dropCreated: options.dropCreated ?? false,
  });
  const result = parseExposition(text, options.format ?? 'prometheus_text', mapper);
  return { events: mapper.finish(), ...result };
}

const point = (name: string, labels: Record<string, string>, value: number, type: 'gauge' | 'counter' | 'summary' = 'gauge', time_us = NOW): MetricEvent => ({
  kind: 'metric',
  name,
  labels: { ...TARGET, ...labels },
  time_us,
  type,
  value,
});

t.test('counters, gauges and untyped samples of the text format', async (t) => {
  const { events, samples, malformed } = parse(`# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} 1027
http_requests_total{method="POST",code="500"} 3
# TYPE temperature_celsius gauge
temperature_celsius -1.5
# TYPE legacy untyped
legacy 7
no_type_at_all{a="b"} 42
`);
  t.equal(malformed, 0);
  t.equal(samples, 5);
  t.same(events, [
    point('http_requests_total', { code: '200', method: 'GET' }, 1027, 'counter'),
    point('http_requests_total', { code: '500', method: 'POST' }, 3, 'counter'),
    point('temperature_celsius', {}, -1.5),
    point('legacy', {}, 7),
    point('no_type_at_all', { a: 'b' }, 42),
  ]);
  t.same(Object.keys(events[0]?.labels ?? {}), ['code', 'instance', 'job', 'method'], 'labels in canonical (sorted) order');
});

t.test('label values with escapes, and characters that are syntax elsewhere', async (t) => {
  const { events, malformed } = parse(
    [
      'm{path="C:\\\\dir\\\\file",quote="say \\"hi\\"",nl="two\\nlines"} 1',
      'm{odd="tab\\tstays",brace="}{",comma="a,b",hash="# not a comment",eq="a=b"} 2',
      'm{empty="",trailing="comma",} 3',
      'm{ spaced = "out" , x="y" } 4',
      'm{} 5',
    ].join('\n'),
  );
  t.equal(malformed, 0);
  t.same(
    events.map((e) => e.labels),
    [
      { ...TARGET, nl: 'two\nlines', path: 'C:\\dir\\file', quote: 'say "hi"' },
      { ...TARGET, brace: '}{', comma: 'a,b', eq: 'a=b', hash: '# not a comment', odd: 'tab\\tstays' },
      { ...TARGET, trailing: 'comma' },
      { ...TARGET, spaced: 'out', x: 'y' },
      { ...TARGET },
    ],
    'an empty value is no label, as in Prometheus; unknown escapes stay as written',
  );
  t.equal(unescapeLabelValue('a\\\\nb', 0, 5), 'a\\nb', 'an escaped backslash before n is not a newline');
});

t.test('special and unusual values', async (t) => {
  const { events, malformed, errors } = parse(
    ['a NaN', 'b +Inf', 'c -Inf', 'd Inf', 'e nan', 'f 1.5e-3', 'g -0.25', 'h 12345678901234567890', 'i .5', 'j 1_000', 'k 0x1F', 'l 7 # trailing'].join('\n'),
  );
  const values = Object.fromEntries(events.map((e) => [e.name, e.type === 'histogram' ? undefined : e.value]));
  t.ok(Number.isNaN(values.a), 'NaN');
  t.equal(values.b, Infinity);
  t.equal(values.c, -Infinity);
  t.equal(values.d, Infinity);
  t.ok(Number.isNaN(values.e), 'nan in any case');
  t.equal(values.f, 0.0015);
  t.equal(values.g, -0.25);
  t.equal(values.h, Number('12345678901234567890'), 'more digits than a double holds');
  t.equal(values.i, 0.5);
  t.equal(values.l, 7, 'a comment after the value is skipped like an exemplar');
  t.equal(malformed, 2, 'Go-incompatible numbers are malformed');
  t.same(
    errors.map((e) => e.line),
    [10, 11],
  );
  t.match(errors[0]?.message, /invalid value "1_000" of "j"/);
});

t.test('timestamps: milliseconds in the text format, seconds in OpenMetrics, honor_timestamps', async (t) => {
  const text = parse('a 1 1700000000123\nb 2\nc 3 -5\nd 4 1.5\n');
  t.same(
    text.events.map((e) => e.time_us),
    [1_700_000_000_123_000, NOW, -5000],
  );
  t.equal(text.malformed, 1);
  t.match(text.errors[0], { line: 4, message: /invalid timestamp "1.5" of "d" \(expected an integer of milliseconds\)/ });

  const om = parse('a 1 1700000000.123456\nb 2\n# EOF\n', { format: 'openmetrics_text' });
  t.same(
    om.events.map((e) => e.time_us),
    [1_700_000_000_123_456, NOW],
  );
  const ignored = parse('a 1 1700000000123\n', { honorTimestamps: false });
  t.equal(ignored.events[0]?.time_us, NOW, 'honor_timestamps = false uses the scrape time');
});

t.test('a histogram becomes one event per series', async (t) => {
  const { events, malformed, samples } = parse(`# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1",route="/a"} 1
http_request_duration_seconds_bucket{le="1",route="/a"} 3
http_request_duration_seconds_bucket{le="+Inf",route="/a"} 4
http_request_duration_seconds_sum{route="/a"} 2.5
http_request_duration_seconds_count{route="/a"} 4
http_request_duration_seconds_bucket{route="/b",le="0.1"} 0
http_request_duration_seconds_bucket{route="/b",le="1"} 1
http_request_duration_seconds_bucket{route="/b",le="+Inf"} 1
http_request_duration_seconds_sum{route="/b"} 0.7
http_request_duration_seconds_count{route="/b"} 1
`);
  t.equal(malformed, 0);
  t.equal(samples, 10, 'every line counts as a sample, as in scrape_samples_scraped');
  t.same(events, [
    {
      kind: 'metric',
      name: 'http_request_duration_seconds',
      labels: { ...TARGET, route: '/a' },
      time_us: NOW,
      type: 'histogram',
      histogram: { count: 4, sum: 2.5, buckets: { '0.1': 1, '1': 3, '+Inf': 4 } },
    },
    {
      kind: 'metric',
      name: 'http_request_duration_seconds',
      labels: { ...TARGET, route: '/b' },
      time_us: NOW,
      type: 'histogram',
      histogram: { count: 1, sum: 0.7, buckets: { '0.1': 0, '1': 1, '+Inf': 1 } },
    },
  ]);
});

t.test('histogram samples out of order, incomplete series, and a bucket without le', async (t) => {
  const { events, errors } = parse(`# TYPE h histogram
h_bucket{le="1",x="a"} 1
h_bucket{le="1",x="b"} 2
h_sum{x="a"} 0.5
h_bucket{le="+Inf",x="a"} 1
h_count{x="b"} 5
h_sum{x="b"} 9
h_bucket{x="c"} 3
`);
  t.same(
    events.map((e) => (e.type === 'histogram' ? [e.labels.x, e.histogram] : undefined)),
    [
      ['a', { count: 1, sum: 0.5, buckets: { '1': 1, '+Inf': 1 } }],
      ['b', { count: 5, sum: 9, buckets: { '1': 2, '+Inf': 5 } }],
    ],
    'a missing _count comes from +Inf and a missing +Inf from _count',
  );
  t.same(errors, [{ line: 8, message: 'the histogram bucket of "h" has no "le" label' }]);
  const noSum = parse('# TYPE h histogram\nh_bucket{le="+Inf"} 2\n').events[0];
  t.ok(noSum?.type === 'histogram' && Number.isNaN(noSum.histogram.sum) && noSum.histogram.count === 2, 'a histogram without _sum has sum NaN');
});

t.test('histograms with different bucket layouts, one after the other', async (t) => {
  const { events } = parse(`# TYPE a histogram
a_bucket{x="1",le="1"} 1
a_bucket{x="1",le="+Inf"} 2
# TYPE b histogram
b_bucket{le="0.5"} 3
b_bucket{le="2"} 4
b_bucket{le="+Inf"} 5
# TYPE c histogram
c_bucket{le="1"} 6
c_bucket{le="+Inf"} 7
c_bucket{le="1",y="z"} 8
c_bucket{le="+Inf",y="z"} 9
`);
  t.same(
    events.map((e) => (e.type === 'histogram' ? [e.name, e.histogram.buckets] : undefined)),
    [
      ['a', { '1': 1, '+Inf': 2 }],
      ['b', { '0.5': 3, '2': 4, '+Inf': 5 }],
      ['c', { '1': 6, '+Inf': 7 }],
      ['c', { '1': 8, '+Inf': 9 }],
    ],
  );
});

t.test('a summary becomes quantile points plus _sum and _count counters', async (t) => {
  const { events } = parse(`# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.01
rpc_seconds{quantile="0.99"} 0.2
rpc_seconds_sum 17.5
rpc_seconds_count 42
`);
  t.same(events, [
    point('rpc_seconds', { quantile: '0.5' }, 0.01, 'summary'),
    point('rpc_seconds', { quantile: '0.99' }, 0.2, 'summary'),
    point('rpc_seconds_sum', {}, 17.5, 'counter'),
    point('rpc_seconds_count', {}, 42, 'counter'),
  ]);
});

t.test('OpenMetrics: counters, _created, info, stateset, gaugehistogram, unit, exemplars, EOF', async (t) => {
  const body = `# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE go_goroutines gauge
go_goroutines 69
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
process_cpu_seconds_total 4.20072246e+06
process_cpu_seconds_created 1605281325.0 # {trace_id="KOO5S4vxi0o"} 0.67
# TYPE foo histogram
foo_bucket{le="0.0"} 0
foo_bucket{le="1e-05"} 0 # {trace_id="oHg5SJYRHA0"} 9.8e-06 1520879607.789
foo_bucket{le="+Inf"} 17 1520879607.5 # {trace_id="x"} 3
foo_count 17
foo_sum 324789.3
foo_created 1520430000.123
# TYPE build info
build_info{version="1.2.3"} 1
# TYPE feature stateset
feature{feature="a"} 1
feature{feature="b"} 0
# TYPE queue_depth gaugehistogram
queue_depth_bucket{le="1"} 2
queue_depth_bucket{le="+Inf"} 3
queue_depth_gcount 3
queue_depth_gsum 4
# EOF
`;
  const kept = parse(body, { format: 'openmetrics_text' });
  t.equal(kept.malformed, 0, JSON.stringify(kept.errors));
  const l = { method: 'GET', path: '/api/v1' };
  t.same(kept.events, [
    point('acme_http_router_request_seconds_sum', l, 9036.32, 'counter'),
    point('acme_http_router_request_seconds_count', l, 807283, 'counter'),
    point('acme_http_router_request_seconds_created', l, 1605281325),
    point('go_goroutines', {}, 69),
    point('process_cpu_seconds_total', {}, 4.20072246e6, 'counter'),
    point('process_cpu_seconds_created', {}, 1605281325),
    {
      kind: 'metric',
      name: 'foo',
      labels: { ...TARGET },
      time_us: NOW,
      type: 'histogram',
      histogram: { count: 17, sum: 324789.3, buckets: { '0.0': 0, '1e-05': 0, '+Inf': 17 } },
    },
    point('foo_created', {}, 1520430000.123),
    point('build_info', { version: '1.2.3' }, 1),
    point('feature', { feature: 'a' }, 1),
    point('feature', { feature: 'b' }, 0),
    point('queue_depth_bucket', { le: '1' }, 2),
    point('queue_depth_bucket', { le: '+Inf' }, 3),
    point('queue_depth_gcount', {}, 3),
    point('queue_depth_gsum', {}, 4),
  ]);
  t.equal(kept.samples, 19);

  const dropped = parse(body, { format: 'openmetrics_text', dropCreated: true });
  t.same(
    dropped.events.map((e) => e.name).filter((n) => n.endsWith('_created')),
    [],
    'created_samples = "drop" discards _created of counters, histograms and summaries',
  );
  const options = { fallback: 'prometheus_text' as const, labels: new LabelMerger(TARGET, false), scrapeTimeUs: NOW, honorTimestamps: true };
  const om = 'application/openmetrics-text; version=1.0.0';
  t.equal(eventsFromBody(body, om, { ...options, dropCreated: false }).samples, 19);
  t.equal(eventsFromBody(body, om, { ...options, dropCreated: true }).samples, 16, 'dropped samples are not counted in scrape_samples_scraped');
});

t.test('OpenMetrics # EOF: required at the end, nothing after it', async (t) => {
  const missing = parse('a 1\nb 2\n', { format: 'openmetrics_text' });
  t.equal(missing.events.length, 2, 'the samples are kept');
  t.same(missing.errors, [{ line: 3, message: 'the OpenMetrics body does not end with "# EOF" (is it truncated?)' }]);
  const after = parse('a 1\n# EOF\nb 2\n', { format: 'openmetrics_text' });
  t.same(
    after.events.map((e) => e.name),
    ['a'],
  );
  t.same(after.errors, [{ line: 3, message: 'data after "# EOF"' }]);
  t.equal(parse('# EOF\n', { format: 'prometheus_text' }).malformed, 0, 'in the text format "# EOF" is a plain comment');
});

t.test('malformed lines are reported one by one with their line numbers; the rest is kept', async (t) => {
  const { events, errors, malformed, samples } = parse(
    [
      'good_one 1',
      '9starts_with_digit 1',
      'no_value',
      'unclosed{a="b" 1',
      'bad_label{1a="b"} 1',
      'no_equals{a "b"} 1',
      'unquoted{a=b} 1',
      'open_quote{a="b} 1',
      'missing_comma{a="b" c="d"} 1',
      'extra_text 1 2 3',
      'dup{a="1",a="2"} 1',
      '# TYPE weird bogus',
      'good_two 2',
    ].join('\n'),
  );
  t.same(
    events.map((e) => e.name),
    ['good_one', 'good_two'],
  );
  t.equal(samples, 2);
  t.equal(malformed, 11);
  t.same(
    errors.map((e) => e.line),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  t.match(errors, [
    { message: /expected a metric name, found "9starts_with_digit 1"/ },
    { message: /expected a value after "no_value"/ },
    { message: /expected "," or "}" after the value of the label "a"/ },
    { message: /expected a label name, found "1a=/ },
    { message: /expected "=" after the label name "a"/ },
    { message: /expected a quoted value for the label "a"/ },
    { message: /the value of the label "a" has no closing quote/ },
    { message: /expected "," or "}" after the value of the label "a"/ },
    { message: /unexpected "3" after the value of "extra_text"/ },
    { message: /the label "a" appears twice/ },
    { message: /unknown metric type "bogus" for "weird"/ },
  ]);
});

t.test('a byte order mark, line endings, blank lines, indentation and tabs', async (t) => {
  const { events, malformed } = parse('\ufeff  # TYPE a counter\r\n\r\na{x="1"}\t5\r\n\n   b 6 \n\tc\t7\t1000\n');
  t.equal(malformed, 0);
  t.same(
    events.map((e) => [e.name, e.type, e.type === 'histogram' ? 0 : e.value, e.time_us]),
    [
      ['a', 'counter', 5, NOW],
      ['b', 'gauge', 6, NOW],
      ['c', 'gauge', 7, 1_000_000],
    ],
  );
});

t.test('honor_labels: clashing scraped labels', async (t) => {
  const text = 'm{job="scraped-job",instance="scraped-instance",exported_job="taken",env="dev"} 1\n';
  const renamed = parse(text, { target: { instance: 'host:9100', job: 'node', env: 'prod' } });
  t.same(
    renamed.events[0]?.labels,
    {
      env: 'prod',
      exported_env: 'dev',
      exported_exported_job: 'scraped-job',
      exported_instance: 'scraped-instance',
      exported_job: 'taken',
      instance: 'host:9100',
      job: 'node',
    },
    'honor_labels = false: the target wins and the scraped label becomes exported_<name> (again while taken)',
  );
  const honored = parse(text, { honorLabels: true, target: { instance: 'host:9100', job: 'node', env: 'prod' } });
  t.same(
    honored.events[0]?.labels,
    { env: 'dev', exported_job: 'taken', instance: 'scraped-instance', job: 'scraped-job' },
    'honor_labels = true: the scraped values win',
  );
});

t.test('a __proto__ label is a label, not a prototype', async (t) => {
  const { events } = parse('m{__proto__="x",a="b"} 1\n');
  const labels = events[0]?.labels ?? {};
  t.same(Object.keys(labels), ['__proto__', 'a', 'instance', 'job']);
  t.equal(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value, 'x');
  t.equal(Object.getPrototypeOf(labels), Object.prototype);
});

t.test('the same label names in a new order, and many label sets, build correct labels', async (t) => {
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) lines.push(i % 2 ? `m{a="${i}",b="x"} ${i}` : `m{b="y",a="${i}"} ${i}`);
  lines.push(...Array.from({ length: 2100 }, (_, i) => `n{l${i}="v"} 1`));
  const { events, malformed } = parse(lines.join('\n'));
  t.equal(malformed, 0);
  t.ok(
    events.slice(0, 3000).every((e, i) => e.labels.a === String(i) && e.labels.b === (i % 2 ? 'x' : 'y')),
    'values follow their names',
  );
  t.ok(
    events.slice(3000).every((e, i) => e.labels[`l${i}`] === 'v' && Object.keys(e.labels).length === 3),
    'more label-name lists than the plan cache holds',
  );
});

t.test('a body that is not exposition text fails the scrape', async (t) => {
  const options = {
    fallback: 'prometheus_text' as const,
    labels: new LabelMerger(TARGET, false),
    scrapeTimeUs: NOW,
    honorTimestamps: true,
    dropCreated: false,
  };
  t.notOk(looksLikeExposition('\n  <!DOCTYPE html><html><body>Login</body></html>'));
  t.notOk(looksLikeExposition('{"status":"ok"}'));
  t.ok(looksLikeExposition(''));
  t.throws(() => eventsFromBody('<html><body>Not here</body></html>', 'text/html; charset=utf-8', options), {
    code: 'TC_PROM_NOT_EXPOSITION',
    message: /the body is not exposition text: it starts with "<html><body>Not here<\/body><\/html>" \(Content-Type "text\/html; charset=utf-8"\)/,
  });
  t.throws(() => eventsFromBody('hello there\nthis is = prose\n', 'text/plain', options), {
    code: 'TC_PROM_NOT_EXPOSITION',
    message: /no line of the body is a valid sample \(2 malformed; line 1: /,
  });
  t.throws(() => eventsFromBody('a 1\n', 'application/json', { ...options, fallback: 'fail' }), {
    code: 'TC_PROM_NOT_EXPOSITION',
    message: /Content-Type "application\/json", which is neither OpenMetrics nor Prometheus text/,
  });
  const empty = eventsFromBody('', 'text/plain', options);
  t.same([empty.events, empty.samples], [[], 0], 'an empty body is an empty scrape, as in Prometheus');
  const om = eventsFromBody('a_total 1\n# EOF\n', 'application/openmetrics-text; version=1.0.0; charset=utf-8', options);
  t.equal(om.malformed, 0, 'the OpenMetrics Content-Type selects the OpenMetrics parser');
  const fallbackOm = eventsFromBody('a 1\n# EOF\n', undefined, { ...options, fallback: 'openmetrics_text' });
  t.equal(fallbackOm.malformed, 0, 'fallback_format applies without a Content-Type');
});

t.test('a real node_exporter 1.5.0 body (the Debian package, captured on a test machine)', async (t) => {
  const text = fs.readFileSync(new URL('./testdata/node-exporter-1.5.0.txt', import.meta.url), 'utf8');
  const { events, malformed, samples } = parse(text);
  const sampleLines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  t.equal(malformed, 0);
  t.equal(samples, sampleLines.length);
  t.equal(events.length, sampleLines.length, 'one event per sample (no histograms in this body)');
  const declared = new Map<string, string>();
  for (const l of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(l);
    if (m) declared.set(m[1] as string, m[2] as string);
  }
  const expected = (name: string) => {
    const type = declared.get(name) ?? declared.get(name.replace(/_(sum|count)$/, ''));
    if (type === 'summary') return declared.has(name) ? 'summary' : 'counter';
    return type === 'counter' ? 'counter' : 'gauge';
  };
  t.same(
    events.filter((e) => e.type !== expected(e.name)).map((e) => e.name),
    [],
    "every sample has its family's type",
  );
  t.match(
    events.find((e) => e.name === 'node_filesystem_avail_bytes'),
    { type: 'gauge', labels: { device: String, fstype: String, instance: 'host:9100', job: 'node', mountpoint: String } },
  );
});
