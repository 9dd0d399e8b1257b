import t from 'tap';
import { canonicalLabels, type Labels, type LogEvent, type MetricEvent, type SpanEvent } from '../../../index.js';
import { business, log, metric, span } from '../_shared/testdata/events.js';
import { build } from './testdata/harness.js';

/** Key order matters here, which t.same ignores: compare entries. */
const entries = (labels: Labels) => Object.entries(labels);

t.test('defaults: sorted keys, trimmed names and values, empty values removed, on every kind', async (t) => {
  const { run } = build();
  const m = metric({ labels: { method: ' GET ', code: '200', ' env': '', instance: 'a:9100' } });
  const l = log({ labels: { zone: 'eu-1', app: 'cart', 'k8s.pod': 'cart-7f9' } });
  const s = span({ attr: { 'http.route': '/api/cart', 'http.method': 'GET', 'db.system': ' postgresql\n' } });
  const b = business();
  const out = run([m, l, s, b]);
  t.equal(out.length, 4);
  t.same(entries((out[0] as MetricEvent).labels), [
    ['code', '200'],
    ['instance', 'a:9100'],
    ['method', 'GET'],
  ]);
  t.same(entries((out[1] as LogEvent).labels), [
    ['app', 'cart'],
    ['k8s.pod', 'cart-7f9'],
    ['zone', 'eu-1'],
  ]);
  t.same(entries((out[2] as SpanEvent).attr), [
    ['db.system', 'postgresql'],
    ['http.method', 'GET'],
    ['http.route', '/api/cart'],
  ]);
  t.same((out[2] as SpanEvent).events, span().events, 'span event attributes are left as they are');
  t.same(out[3], business(), 'business events pass untouched');
  t.equal((out[0] as MetricEvent).name, 'http_requests_total');
});

t.test('an already canonical label map is passed on as the same object', async (t) => {
  const { run } = build();
  const labels = { code: '200', method: 'GET' };
  const [m] = run([metric({ labels })]);
  t.equal((m as MetricEvent).labels, labels);
});

t.test('sorting is stable: every arrival order gives the same keys in the same order, and it is idempotent', async (t) => {
  const { run } = build({ key_case: 'lower' });
  const pairs: Array<[string, string]> = [
    ['pod', 'a'],
    ['Zone', 'z'],
    ['_meta', 'm'],
    ['app', 'x'],
    ['APP', 'y'],
    ['a.b', '1'],
    ['é', 'accent'],
    ['Z', 'upper'],
  ];
  const permutations = (xs: Array<[string, string]>): Array<Array<[string, string]>> => {
    const out: Array<Array<[string, string]>> = [];
    for (let i = 0; i < 200; i++) {
      const copy = [...xs];
      for (let j = copy.length - 1; j > 0; j--) {
        const k = (i * 7919 + j * 104729) % (j + 1);
        [copy[j], copy[k]] = [copy[k] as [string, string], copy[j] as [string, string]];
      }
      out.push(copy);
    }
    return out;
  };
  const results = new Set<string>();
  for (const order of permutations(pairs)) {
    const [m] = run([metric({ labels: Object.fromEntries(order) })]);
    results.add(JSON.stringify(entries((m as MetricEvent).labels)));
  }
  t.equal(results.size, 1, '200 arrival orders, one result');
  const expected: Array<[string, string]> = [
    ['_meta', 'm'],
    ['a.b', '1'],
    ['app', 'y'],
    ['pod', 'a'],
    ['z', 'upper'],
    ['zone', 'z'],
    ['é', 'accent'],
  ];
  t.same(JSON.parse([...results][0] as string), expected, 'code-unit order; "APP" sorts before "app", so its value wins the collision');
  const once = run([metric({ labels: Object.fromEntries(pairs) })])[0] as MetricEvent;
  t.equal(canonicalLabels(once.labels), once.labels, "the engine's canonicalLabels finds nothing to reorder");
  const twice = run([metric({ labels: { ...once.labels } })])[0] as MetricEvent;
  t.same(entries(twice.labels), entries(once.labels), 'canonicalizing twice changes nothing');
});

t.test('rename, drop (exact and regex), keep, lowercase_values, sanitize and add, in the documented order', async (t) => {
  const { run } = build({
    key_case: 'lower',
    rename: { hostname: 'host', 'k8s.namespace': 'namespace' },
    sanitize_names: 'prometheus',
    drop: ['pid', { regex: '^tmp_' }],
    lowercase_values: ['method', 'host'],
    add: { cluster: 'eu-1', env: 'prod' },
  });
  const m = metric({
    name: 'http.server.duration',
    labels: { HostName: 'WEB-1', 'k8s.namespace': 'shop', Method: 'POST', pid: '4242', 'tmp.trace': 'x', tmp_debug: 'y', env: 'staging', '5xx': '3' },
  });
  const l = log({ labels: { HostName: 'WEB-1', 'k8s.pod': 'p', tmp_x: '1' } });
  const [om, ol] = run([m, l]) as [MetricEvent, LogEvent];
  t.equal(om.name, 'http_server_duration', 'metric names sanitized');
  t.same(entries(om.labels), [
    ['_5xx', '3'],
    ['cluster', 'eu-1'],
    ['env', 'staging'],
    ['host', 'web-1'],
    ['method', 'post'],
    ['namespace', 'shop'],
  ]);
  t.same(
    entries(ol.labels),
    [
      ['cluster', 'eu-1'],
      ['env', 'prod'],
      ['host', 'web-1'],
      ['k8s.pod', 'p'],
    ],
    'log labels: renamed, dropped and added alike, but not sanitized',
  );
});

t.test('tmp.trace is sanitized to tmp_trace before drop runs, so the regex removes it', async (t) => {
  const { run } = build({ sanitize_names: 'prometheus', drop: [{ regex: '^tmp_' }] });
  const [m] = run([metric({ labels: { 'tmp.trace': 'x', a: '1' } })]) as [MetricEvent];
  t.same(entries(m.labels), [['a', '1']]);
});

t.test('drop patterns run in linear time: a catastrophic-backtracking pattern on a hostile label name completes', async (t) => {
  const { run } = build({ drop: [{ regex: '^(\\w+\\s?)*$' }] });
  const hostile = `${'a'.repeat(32)}!`;
  const [out] = run([metric({ labels: { [hostile]: 'x', plain_name: 'y' } })]) as MetricEvent[];
  t.same(out?.labels, { [hostile]: 'x' }, 'the word-only name is dropped, the hostile one does not match and stays');
});

t.test('keep is an allow-list (exact names and regexes); added labels survive it', async (t) => {
  const { run } = build({ keep: ['method', { regex: '^http_' }], add: { region: 'eu' } });
  const [m] = run([metric({ labels: { method: 'GET', code: '200', http_route: '/x', instance: 'i' } })]) as [MetricEvent];
  t.same(entries(m.labels), [
    ['http_route', '/x'],
    ['method', 'GET'],
    ['region', 'eu'],
  ]);
});

t.test('add_mode decides whether the event or the config wins', async (t) => {
  const ifAbsent = build({ add: { env: 'prod' } }).run([log({ labels: { env: 'dev' } }), log({ labels: {} })]) as LogEvent[];
  t.same(
    ifAbsent.map((e) => e.labels),
    [{ env: 'dev' }, { env: 'prod' }],
  );
  const overwrite = build({ add: { env: 'prod' }, add_mode: 'overwrite' }).run([log({ labels: { env: 'dev', a: '1' } })]) as LogEvent[];
  t.same(entries(overwrite[0]?.labels as Labels), [
    ['a', '1'],
    ['env', 'prod'],
  ]);
  const same = { env: 'prod' };
  t.equal(
    (build({ add: { env: 'prod' }, add_mode: 'overwrite' }).run([log({ labels: same })])[0] as LogEvent).labels,
    same,
    'unchanged when the value is already there',
  );
});

t.test('trim and drop_empty_values can be turned off', async (t) => {
  const { run } = build({ trim: false, drop_empty_values: false });
  const [m] = run([metric({ labels: { b: ' x ', a: '' } })]) as [MetricEvent];
  t.same(entries(m.labels), [
    ['a', ''],
    ['b', ' x '],
  ]);
});

t.test('applies_to limits which label maps are rewritten', async (t) => {
  const { run } = build({ applies_to: ['metric'], add: { env: 'prod' } });
  const [m, l, s] = run([metric({ labels: { b: '1', a: '2' } }), log({ labels: { b: '1', a: '2' } }), span({ attr: { b: '1' } })]) as [
    MetricEvent,
    LogEvent,
    SpanEvent,
  ];
  t.same(entries(m.labels), [
    ['a', '2'],
    ['b', '1'],
    ['env', 'prod'],
  ]);
  t.same(entries(l.labels), [
    ['b', '1'],
    ['a', '2'],
  ]);
  t.same(entries(s.attr), [['b', '1']]);
});

t.test('max_label_value_bytes truncates at a character boundary and counts', async (t) => {
  const { run, registry } = build({ max_label_value_bytes: 6 });
  const out = run([
    log({ labels: { ascii: 'abcdefgh', two: 'ééééé', four: '😀😀', three: '€€€', fits: 'abcdef' } }),
    metric({ labels: { path: '/api/users/1234567' } }),
  ]);
  t.same((out[0] as LogEvent).labels, { ascii: 'abcdef', fits: 'abcdef', four: '😀', three: '€€', two: 'ééé' });
  t.same((out[1] as MetricEvent).labels, { path: '/api/u' });
  t.match(await registry.text(), /thermocline_canonicalize_labels_values_truncated_total\{component_id="labels"\} 5/);
});

t.test('label collisions keep the label whose original name sorts first, and are counted', async (t) => {
  const { run, registry } = build({ sanitize_names: 'prometheus' });
  const a = run([metric({ labels: { 'http.route': 'dots', http_route: 'underscore' } })])[0] as MetricEvent;
  const b = run([metric({ labels: { http_route: 'underscore', 'http.route': 'dots' } })])[0] as MetricEvent;
  t.same(a.labels, { http_route: 'dots' }, '"http.route" < "http_route"');
  t.same(b.labels, a.labels, 'independent of arrival order');
  t.match(await registry.text(), /thermocline_canonicalize_labels_label_collisions_total\{component_id="labels"\} 2/);
});

t.test('a label named __proto__ stays a label', async (t) => {
  const { run } = build();
  const labels = JSON.parse('{"z":"1","__proto__":"p"}') as Labels;
  const [l] = run([log({ labels })]) as [LogEvent];
  t.same(Object.keys(l.labels), ['__proto__', 'z']);
  t.equal(Object.getPrototypeOf(l.labels), Object.prototype);
  t.equal(JSON.stringify(l.labels), '{"__proto__":"p","z":"1"}');
});

t.test('histograms keep their buckets; only labels and the name change', async (t) => {
  const { run } = build({ sanitize_names: 'prometheus' });
  const h: MetricEvent = {
    kind: 'metric',
    type: 'histogram',
    name: 'rpc.duration',
    labels: { 'rpc.method': 'Get' },
    time_us: 1,
    histogram: { count: 2, sum: 3, buckets: { '1': 1, '+Inf': 2 } },
  };
  const [out] = run([h]) as [MetricEvent];
  t.same(out, { ...h, name: 'rpc_duration', labels: { rpc_method: 'Get' } });
});

t.test('Prometheus sanitizing follows the data model: metric names may keep colons, label names may not', async (t) => {
  const { run } = build({ sanitize_names: 'prometheus' });
  const out = run([
    metric({ name: 'job:http_requests:rate5m', labels: { 'le:bucket': '1', '5xx': 'a', dé: 'b', ok_name: 'c' } }),
    metric({ name: '2xx.responses', labels: {} }),
  ]) as MetricEvent[];
  t.equal(out[0]?.name, 'job:http_requests:rate5m', 'recording-rule names are valid metric names');
  t.same(entries(out[0]?.labels as Labels), [
    ['_5xx', 'a'],
    ['d_', 'b'],
    ['le_bucket', '1'],
    ['ok_name', 'c'],
  ]);
  t.equal(out[1]?.name, '_2xx_responses');
});

t.test('many label layouts (more than the layout cache holds) are all rewritten correctly', async (t) => {
  const { run } = build({ rename: { k0: 'renamed' } });
  for (let round = 0; round < 3; round++) {
    for (let l = 0; l < 40; l++) {
      // 40 layouts: different key sets and arrival orders, cycling through a 16-entry cache.
      const keys = Array.from({ length: 2 + (l % 5) }, (_, i) => `k${(i * 7 + l) % 11}`);
      const labels = Object.fromEntries(keys.map((k, i) => [k, `v${i}`]));
      const expected = Object.entries(labels)
        .map(([k, v]) => [k === 'k0' ? 'renamed' : k, v] as [string, string])
        .sort(([a], [b]) => (a < b ? -1 : 1));
      const [e] = run([log({ labels })]) as [LogEvent];
      t.same(entries(e.labels), expected, `layout ${l}, round ${round}`);
    }
  }
});

t.test('integer-like label names: JavaScript lists them first; the result is still the same for every arrival order', async (t) => {
  const { run } = build();
  const a = run([log({ labels: { b: '1', '10': 'x', '2': 'y' } })])[0] as LogEvent;
  const b = run([log({ labels: { '2': 'y', b: '1', '10': 'x' } })])[0] as LogEvent;
  t.same(Object.keys(a.labels), ['2', '10', 'b']);
  t.same(Object.keys(b.labels), Object.keys(a.labels));
});

t.test('the batch array itself is returned when nothing is dropped', async (t) => {
  const { run } = build({ add: { env: 'prod' } });
  const batch = [metric(), log(), span(), business()];
  t.equal(run(batch), batch);
});
