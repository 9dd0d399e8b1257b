import t from 'tap';
import type { LogEvent, MetricEvent, SpanEvent } from '../../../index.js';
import { manualSource, manualSources, received, eventually, startPipeline } from '../../../testing/index.js';
import { business, log, metric, span } from '../_shared/testdata/events.js';

t.test('through the runtime: canonicalize_labels -> route, as in the default pipeline', async (t) => {
  const { runtime } = await startPipeline(
    t,
    `
[sources.in]
type = "manual"

[transforms.labels]
type = "canonicalize_labels"
inputs = ["in"]
add = { cluster = "\${CLUSTER}" }
sanitize_names = "prometheus"
max_series_per_metric = 2
on_limit = "drop"

[transforms.split]
type = "route"
inputs = ["labels"]
route.metrics = { kind = "metric" }
route.errors = { kind = "log", level = ["error", "fatal"] }

[sinks.pg]
type = "memory_recorder"
inputs = ["split.metrics"]

[sinks.ch]
type = "memory_recorder"
inputs = ["split._unmatched", "split.errors"]
`,
    { extra: [manualSource], env: { CLUSTER: 'eu-1' } },
  );
  const emit = manualSources.get('in');
  await emit?.emit([
    metric({ name: 'http.requests', labels: { method: 'GET', 'k8s.pod': ' cart-1 ' } }),
    metric({ name: 'http.requests', labels: { 'k8s.pod': 'cart-1', method: 'GET' } }),
    metric({ name: 'http.requests', labels: { method: 'POST', 'k8s.pod': 'cart-1' } }),
    metric({ name: 'http.requests', labels: { method: 'PUT', 'k8s.pod': 'cart-1' } }),
    log({ level: 'error', labels: { zone: 'b', app: 'cart' } }),
    span({ attr: { 'http.route': '/x', 'db.system': 'pg' } }),
    business(),
  ]);
  await eventually(() => received('pg').length === 3 && received('ch').length === 3);

  const pg = received('pg') as MetricEvent[];
  t.same(
    pg.map((m) => [m.name, Object.entries(m.labels)]),
    [
      [
        'http_requests',
        [
          ['cluster', 'eu-1'],
          ['k8s_pod', 'cart-1'],
          ['method', 'GET'],
        ],
      ],
      [
        'http_requests',
        [
          ['cluster', 'eu-1'],
          ['k8s_pod', 'cart-1'],
          ['method', 'GET'],
        ],
      ],
      [
        'http_requests',
        [
          ['cluster', 'eu-1'],
          ['k8s_pod', 'cart-1'],
          ['method', 'POST'],
        ],
      ],
    ],
    'canonical labels survive the queue in key order; the third series (PUT) was over the limit',
  );
  const ch = received('ch');
  t.same(
    ch.map((e) => e.kind),
    ['log', 'span', 'event'],
    'the sink gets the outputs in the order route declares them: errors, then _unmatched',
  );
  t.same(Object.entries((ch[1] as SpanEvent).attr), [
    ['cluster', 'eu-1'],
    ['db.system', 'pg'],
    ['http.route', '/x'],
  ]);
  t.same(Object.entries((ch[0] as LogEvent).labels), [
    ['app', 'cart'],
    ['cluster', 'eu-1'],
    ['zone', 'b'],
  ]);
  const text = await runtime.metrics.text();
  t.match(
    text,
    /thermocline_component_dropped_events_total\{component_id="labels",component_kind="transform",component_type="canonicalize_labels",reason="cardinality_limit"\} 1/,
  );
  t.match(text, /thermocline_canonicalize_labels_tracked_series\{component_id="labels"\} 2/);
});
