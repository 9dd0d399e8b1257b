/** Configuration checks and the lifecycle of the receiver inside the runtime. */
import http from 'node:http';
import t from 'tap';
import { ConfigError } from '../../../index.js';
import { received, loadTestConfig, startPipeline, tempDir } from '../../../testing/index.js';
import { PROTOBUF, encodeTraces, send, startReceiver } from './testdata/harness.js';

async function configError(t: Parameters<typeof tempDir>[0], table: string): Promise<ConfigError> {
  try {
    await loadTestConfig(`[sources.otlp]\ntype = "otlp_http"\n${table}\n[sinks.out]\ntype = "blackhole"\ninputs = ["otlp"]\n`, { dataDir: tempDir(t) });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('configuration mistakes are reported with their key path', async (t) => {
  const dup = await configError(t, 'paths = { traces = "/otlp", logs = "/otlp" }');
  t.match(dup.message, /sources\.otlp\.paths\.logs: "\/otlp" is already the path of traces/);
  const unknown = await configError(t, 'tls = { cert_file = "a", key_file = "b", ca_file = "c" }');
  t.match(unknown.message, /sources\.otlp\.tls/);
  t.match(unknown.message, /ca_file/);
  const address = await configError(t, 'address = "4318"');
  t.match(address.message, /sources\.otlp\.address: must be "host:port"/);
  const size = await configError(t, 'max_body_bytes = "lots"');
  t.match(size.message, /"lots" is not a size/);
  const path = await configError(t, 'paths = { traces = "v1/traces" }');
  t.match(path.message, /must be an absolute URL path/);
});

t.test('custom paths route each signal', async (t) => {
  const rx = await startReceiver(t, 'paths = { traces = "/otlp/traces" }');
  const body = encodeTraces({
    resourceSpans: [
      {
        scopeSpans: [
          { spans: [{ traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'), spanId: Buffer.from('eee19b7ec3c1b174', 'hex'), name: 'x' }] },
        ],
      },
    ],
  });
  t.equal((await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body })).status, 404);
  t.equal((await send(`${rx.base}/otlp/traces?tenant=a`, { headers: PROTOBUF, body })).status, 200, 'a query string is ignored');
  await rx.waitFor(1);
});

t.test('a request still uploading when the agent stops gets 503 and queues nothing; then the port is closed', async (t) => {
  const { runtime, logs } = await startPipeline(
    t,
    '[sources.otlp]\ntype = "otlp_http"\naddress = "127.0.0.1:0"\n\n[sinks.rec_stop]\ntype = "memory_recorder"\ninputs = ["otlp"]\n',
  );
  const address = String(logs.lines.find((l) => l.component_id === 'otlp' && l.address)?.address);
  const body = encodeTraces({
    resourceSpans: [
      {
        scopeSpans: [
          { spans: [{ traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'), spanId: Buffer.from('eee19b7ec3c1b174', 'hex'), name: 'late' }] },
        ],
      },
    ],
  });
  const reply = new Promise<number>((resolve, reject) => {
    const [host, port] = address.split(':');
    const req = http.request(
      { host, port: Number(port), path: '/v1/traces', method: 'POST', headers: { ...PROTOBUF, 'Content-Length': body.length } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.write(body.subarray(0, 5));
    // Finish the upload only once the stop has begun.
    setTimeout(() => req.end(body.subarray(5)), 200);
  });
  await new Promise((r) => setTimeout(r, 100));
  const stopped = runtime.stop();
  t.equal(await reply, 503);
  await stopped;
  t.equal(received('rec_stop').length, 0, 'nothing was queued');
  await t.rejects(send(`http://${address}/v1/traces`, { headers: PROTOBUF, body }), { code: 'ECONNREFUSED' });
});
