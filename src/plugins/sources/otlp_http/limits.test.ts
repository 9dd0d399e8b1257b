/** Slow clients over real sockets: the receiver's `http` limits cut them off and cap connections. */
import t from 'tap';
import { checkSlowClients, metricValue, startPipeline } from '../../../testing/index.js';

t.test('stalled uploads are cut off, connections past http.max_connections are refused and counted, exporters are still served', async (t) => {
  const { runtime, logs } = await startPipeline(
    t,
    `
[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:0"
http = { header_timeout = "1s", request_timeout = "2s", idle_timeout = "2s", max_connections = 10 }

[sinks.rec_limits]
type = "memory_recorder"
inputs = ["otlp"]
`,
  );
  const address = String(logs.lines.find((l) => l.component_id === 'otlp' && l.address)?.address);
  const metric = async (name: string) => metricValue(await runtime.metrics.text(), name, 'listener="sources.otlp"');
  const result = await checkSlowClients({
    port: Number(address.split(':')[1]),
    count: 9,
    extra: 4,
    normal: async () =>
      (await fetch(`http://${address}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: '{"resourceSpans":[]}' })).status,
    open: () => metric('thermocline_http_connections_open'),
    refused: () => metric('thermocline_http_connections_refused_total'),
  });
  t.equal(result.normalStatus, 200);
  t.equal(result.refused, 3);
});
