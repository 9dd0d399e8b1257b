/** Slow clients over real sockets: the receiver's `http` limits cut them off and cap connections. */
import t from 'tap';
import { checkSlowClients, metricValue, startPipeline } from '../../../testing/index.js';

t.test('stalled event uploads are cut off, connections past http.max_connections are refused and counted, producers are still served', async (t) => {
  const { runtime, logs } = await startPipeline(
    t,
    `
[sources.events]
type = "http_events"
address = "127.0.0.1:0"
http = { header_timeout = "1s", request_timeout = "2s", idle_timeout = "2s", max_connections = 10 }

[sinks.rec_events_limits]
type = "memory_recorder"
inputs = ["events"]
`,
  );
  const address = String(logs.lines.find((l) => l.component_id === 'events' && l.address)?.address);
  const metric = async (name: string) => metricValue(await runtime.metrics.text(), name, 'listener="sources.events"');
  const result = await checkSlowClients({
    port: Number(address.split(':')[1]),
    count: 9,
    extra: 4,
    normal: async () =>
      (await fetch(`http://${address}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: '{"type":"signup.completed","time":1700000000000,"payload":{"user":"u1"}}' })).status,
    open: () => metric('thermocline_http_connections_open'),
    refused: () => metric('thermocline_http_connections_refused_total'),
  });
  t.equal(result.normalStatus, 200);
  t.equal(result.refused, 3);
});
