/**
 * Status codes and failure paths of the receiver (OTLP specification, "OTLP/HTTP Response"),
 * over real HTTP through the real runtime. After every refusal the receiver must still serve.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import t, { type Test } from 'tap';
import { startPipeline, tempDir, eventually, received } from '../../../testing/index.js';
import type { SpanEvent } from '../../../index.js';
import { JSON_TYPE, PROTOBUF, encodeTraces, hexBytes, otlp, send, startReceiver, statusOf, type Receiver } from './testdata/harness.js';

const TRACE = '5b8efff798038103d269b633813fc60c';

function span(name: string, traceId = TRACE, spanId = 'b7ad6b7169203331') {
  return { traceId: hexBytes(traceId), spanId: hexBytes(spanId), name, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000001000000' };
}

/** A protobuf ExportTraceServiceRequest with one span per name. */
function traces(...spans: Array<ReturnType<typeof span>>): Buffer {
  return encodeTraces({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans }] }],
  });
}

/** An OTLP/JSON ExportLogsServiceRequest with one record. */
function oneLog(body: string) {
  return { resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords: [{ timeUnixNano: '1700000000000000000', body: { stringValue: body } }] }] }] };
}

/** The receiver accepts a good request after whatever happened before, and queues its span. */
async function stillServes(t: Test, rx: Receiver, name = 'still serving'): Promise<void> {
  const reply = await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body: traces(span(name)) });
  t.equal(reply.status, 200, 'a good request afterwards is accepted');
  await eventually(() => rx.events().some((e) => e.kind === 'span' && e.name === name), 10_000, `span "${name}"`);
  t.pass('and its span is queued');
}

t.test('an unknown path gets 404 and a non-POST method 405, with a google.rpc.Status body', async (t) => {
  const rx = await startReceiver(t);
  const notFound = await send(`${rx.base}/v1/trace`, { headers: PROTOBUF, body: traces(span('x')) });
  t.equal(notFound.status, 404);
  t.strictSame(statusOf(notFound).code, 5);
  t.match(statusOf(notFound).message, /no OTLP endpoint at \/v1\/trace: post traces to \/v1\/traces/);
  const get = await send(`${rx.base}/v1/traces`, { method: 'GET' });
  t.equal(get.status, 405);
  t.equal(get.headers.allow, 'POST');
  t.equal(statusOf(get).code, 12);
  await stillServes(t, rx);
});

t.test('an unknown Content-Type or Content-Encoding gets 415', async (t) => {
  const rx = await startReceiver(t);
  const text = await send(`${rx.base}/v1/logs`, { headers: { 'Content-Type': 'text/plain' }, body: 'hello' });
  t.equal(text.status, 415);
  t.equal(text.headers['content-type'], 'application/json');
  t.match(statusOf(text).message, /unsupported Content-Type "text\/plain"/);
  const brotli = await send(`${rx.base}/v1/traces`, { headers: { ...PROTOBUF, 'Content-Encoding': 'br' }, body: zlib.brotliCompressSync(traces(span('x'))) });
  t.equal(brotli.status, 415);
  t.equal(brotli.headers['content-type'], 'application/x-protobuf', 'the Status is in the request encoding');
  t.match(statusOf(brotli).message, /unsupported Content-Encoding "br"/);
  await stillServes(t, rx);
});

t.test('a missing or wrong bearer token gets 401 and nothing is queued', async (t) => {
  const rx = await startReceiver(t, '[sources.otlp.auth]\nbearer_token = "s3cret"');
  for (const authorization of [undefined, 'Bearer wrong', 'Bearer s3cre', 'Basic czNjcmV0', 'Bearer s3cret extra']) {
    const reply = await send(`${rx.base}/v1/traces`, {
      headers: { ...PROTOBUF, ...(authorization ? { Authorization: authorization } : {}) },
      body: traces(span('x')),
    });
    t.equal(reply.status, 401, `Authorization: ${authorization ?? '(none)'}`);
    t.equal(reply.headers['www-authenticate'], 'Bearer');
    t.equal(statusOf(reply).code, 16);
  }
  t.equal(rx.events().length, 0);
  const ok = await send(`${rx.base}/v1/traces`, { headers: { ...PROTOBUF, Authorization: 'bearer s3cret' }, body: traces(span('ok')) });
  t.equal(ok.status, 200, 'the scheme name is case-insensitive');
  await rx.waitFor(1);
});

t.test('a truncated protobuf body gets 400 with a protobuf Status, at every cut', async (t) => {
  const rx = await startReceiver(t);
  const body = traces(span('a'), span('b'));
  // Every cut breaks a length prefix of an enclosing message, so every one must be refused.
  for (let cut = 1; cut < body.length; cut++) {
    const reply = await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body: body.subarray(0, cut) });
    const status = statusOf(reply);
    if (reply.status !== 400 || status.code !== 3 || !status.message.startsWith('the body is not a valid protobuf ExportTraceServiceRequest: ')) {
      t.fail(`cut at ${cut} of ${body.length}: ${reply.status} ${status.message}`);
    }
  }
  t.equal(rx.events().length, 0, 'nothing was queued');
  await stillServes(t, rx);
});

t.test('JSON with wrong types gets 400 naming the field, and invalid JSON gets 400', async (t) => {
  const rx = await startReceiver(t);
  const cases: Array<[unknown, RegExp]> = [
    [{ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 5 }] }] }] }, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.name: expected a string/],
    [{ resourceSpans: {} }, /resourceSpans: expected an array/],
    [{ resourceSpans: [{ scopeSpans: [{ spans: [{ startTimeUnixNano: 'soon' }] }] }] }, /spans\[0\]\.startTimeUnixNano: expected a timestamp/],
    [{ resourceSpans: [{ scopeSpans: [{ spans: [{ kind: 'SERVER' }] }] }] }, /spans\[0\]\.kind: expected an enum value/],
    [
      { resourceSpans: [{ resource: { attributes: [{ key: 'a', value: { intValue: 1.5 } }] } }] },
      /resource\.attributes\[0\]\.value\.intValue: expected an integer/,
    ],
    [[1, 2], /body: expected a JSON object/],
  ];
  for (const [body, message] of cases) {
    const reply = await send(`${rx.base}/v1/traces`, { headers: JSON_TYPE, body: JSON.stringify(body) });
    t.equal(reply.status, 400, JSON.stringify(body));
    t.equal(reply.headers['content-type'], 'application/json');
    t.match(statusOf(reply), { code: 3, message });
  }
  const metrics = await send(`${rx.base}/v1/metrics`, {
    headers: JSON_TYPE,
    body: JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', histogram: { dataPoints: [{ bucketCounts: ['1', 'x'] }] } }] }] }] }),
  });
  t.match(statusOf(metrics).message, /metrics\[0\]\.histogram\.dataPoints\[0\]\.bucketCounts\[1\]: expected an integer/);
  const broken = await send(`${rx.base}/v1/logs`, { headers: JSON_TYPE, body: '{"resourceLogs": [' });
  t.equal(broken.status, 400);
  t.match(statusOf(broken).message, /the body is not valid JSON/);
  t.equal(rx.events().length, 0);
  await stillServes(t, rx);
});

t.test('an empty body is an empty protobuf request (200, nothing queued) but not valid JSON (400)', async (t) => {
  const rx = await startReceiver(t);
  const proto = await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body: '' });
  t.equal(proto.status, 200);
  t.equal(proto.body.length, 0, 'full success leaves partial_success unset: an empty message');
  const json = await send(`${rx.base}/v1/metrics`, { headers: JSON_TYPE, body: '' });
  t.equal(json.status, 400);
  const emptyObject = await send(`${rx.base}/v1/metrics`, { headers: JSON_TYPE, body: '{}' });
  t.equal(emptyObject.status, 200);
  t.equal(emptyObject.body.toString(), '{}');
  t.equal(rx.events().length, 0);
  await stillServes(t, rx);
});

t.test('a 30 MB body gets 413, whether its Content-Length announces it or it is streamed', async (t) => {
  const rx = await startReceiver(t);
  const big = Buffer.alloc(30 * 1024 * 1024, 0x0a);
  const declared = await send(`${rx.base}/v1/traces`, { headers: { ...PROTOBUF, 'Content-Length': big.length }, body: big });
  t.equal(declared.status, 413);
  t.match(statusOf(declared), { code: 8, message: /the request body \(31457280 bytes\) is larger than max_body_bytes \(20971520 bytes\)/ });
  // The body is read and discarded before the answer, so the upload completes instead of being
  // reset (the client would see EPIPE rather than the 413, and retry the same body).
  t.equal(declared.uploadError, undefined, 'the declared upload is read to its end');
  t.equal(declared.headers.connection, 'close', 'the client asked to close (agent: false)');
  // An absurd Content-Length is answered at once and the connection closed, without reading.
  const absurd = await send(`${rx.base}/v1/traces`, { headers: { ...PROTOBUF, 'Content-Length': 100 * 1024 ** 3 }, body: [big.subarray(0, 1024)] });
  t.equal(absurd.status, 413);
  t.equal(absurd.headers.connection, 'close');
  const chunks = Array.from({ length: 30 }, () => big.subarray(0, 1024 * 1024));
  const streamed = await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body: chunks });
  t.equal(streamed.status, 413);
  t.match(statusOf(streamed).message, /on the wire/);
  t.equal(streamed.uploadError, undefined, 'the streamed upload is read to its end');
  await stillServes(t, rx);
});

t.test('times the stores cannot hold are refused in partial_success with a reason, never acknowledged as a plain success', async (t) => {
  const rx = await startReceiver(t);
  // 2319-01-01 in nanoseconds: a valid fixed64, past ClickHouse DateTime64(6)'s 2299-12-31.
  const YEAR_2319_NS = String(BigInt(Date.UTC(2319, 0, 1)) * 1_000_000n);
  const late = { ...span('from 2319'), startTimeUnixNano: YEAR_2319_NS, endTimeUnixNano: YEAR_2319_NS };
  const proto = await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body: traces(span('good'), late) });
  t.equal(proto.status, 200);
  const response = otlp.collector.trace.v1.ExportTraceServiceResponse.toObject(otlp.collector.trace.v1.ExportTraceServiceResponse.decode(proto.body), {
    longs: String,
  });
  t.equal(response.partialSuccess?.rejectedSpans, '1');
  t.match(
    response.partialSuccess?.errorMessage,
    /^1 spans refused: span "from 2319": start_time_unix_nano \d+ µs is outside the storable range \(1900-01-01 to 2299-12-31 UTC\)$/,
  );

  const logs = await send(`${rx.base}/v1/logs`, {
    headers: JSON_TYPE,
    body: JSON.stringify({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                { timeUnixNano: YEAR_2319_NS, body: { stringValue: 'late' } },
                { timeUnixNano: '1700000000000000000', body: { stringValue: 'ok' } },
              ],
            },
          ],
        },
      ],
    }),
  });
  t.equal(logs.status, 200);
  t.match(JSON.parse(logs.body.toString()), {
    partialSuccess: { rejectedLogRecords: '1', errorMessage: /log record: time_unix_nano .* outside the storable range/ },
  });

  const metrics = await send(`${rx.base}/v1/metrics`, {
    headers: JSON_TYPE,
    body: JSON.stringify({
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'temperature',
                  gauge: {
                    dataPoints: [
                      { timeUnixNano: YEAR_2319_NS, asDouble: 1 },
                      { timeUnixNano: '1700000000000000000', asDouble: 2 },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    }),
  });
  t.equal(metrics.status, 200);
  t.match(JSON.parse(metrics.body.toString()), {
    partialSuccess: { rejectedDataPoints: '1', errorMessage: /metric "temperature": time_unix_nano .* outside the storable range/ },
  });
  const events = await rx.waitFor(3);
  t.same(
    events.map((e) => e.kind),
    ['span', 'log', 'metric'],
    'only the storable items were queued',
  );
});

t.test('a gzip bomb gets 413 once the inflated size passes max_body_bytes; corrupt gzip gets 400', async (t) => {
  const rx = await startReceiver(t, 'max_body_bytes = "1MiB"');
  const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  t.ok(bomb.length < 1024 * 1024, `the bomb is ${bomb.length} bytes on the wire`);
  const reply = await send(`${rx.base}/v1/traces`, { headers: { ...PROTOBUF, 'Content-Encoding': 'gzip' }, body: bomb });
  t.equal(reply.status, 413);
  t.match(statusOf(reply).message, /larger than max_body_bytes \(1048576 bytes\) after decompression/);
  const corrupt = await send(`${rx.base}/v1/traces`, { headers: { ...PROTOBUF, 'Content-Encoding': 'gzip' }, body: Buffer.from('not gzip at all') });
  t.equal(corrupt.status, 400);
  t.match(statusOf(corrupt).message, /not valid gzip data/);
  const deflated = await send(`${rx.base}/v1/traces`, {
    headers: { ...PROTOBUF, 'Content-Encoding': 'deflate' },
    body: zlib.deflateSync(traces(span('deflated'))),
  });
  t.equal(deflated.status, 200, 'deflate is accepted too');
  await rx.waitFor(1);
  await stillServes(t, rx);
});

t.test('invalid items are refused in partial_success while the valid ones are queued', async (t) => {
  const rx = await startReceiver(t);
  const body = traces(span('good'), span('short id', TRACE.slice(0, 16)), span('zero span id', TRACE, '0000000000000000'));
  const proto = await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body });
  t.equal(proto.status, 200);
  const response = otlp.collector.trace.v1.ExportTraceServiceResponse.toObject(otlp.collector.trace.v1.ExportTraceServiceResponse.decode(proto.body), {
    longs: String,
  });
  t.strictSame(response, {
    partialSuccess: { rejectedSpans: '2', errorMessage: '2 spans refused: span "short id": trace_id must be 16 bytes (32 hex digits), got 16 hex digits' },
  });
  const json = await send(`${rx.base}/v1/traces`, {
    headers: JSON_TYPE,
    body: JSON.stringify({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                { traceId: TRACE, spanId: 'b7ad6b7169203331', name: 'json good' },
                { traceId: 'zz', spanId: 'b7ad6b7169203331', name: 'bad' },
              ],
            },
          ],
        },
      ],
    }),
  });
  t.equal(json.status, 200);
  t.strictSame(JSON.parse(json.body.toString()), { partialSuccess: { rejectedSpans: '1', errorMessage: '1 spans refused: span "bad": trace_id is not hex' } });
  const events = await rx.waitFor(2);
  t.strictSame(
    events.map((e) => (e as SpanEvent).name),
    ['good', 'json good'],
  );
});

t.test('a full queue gets 503 with Retry-After, and requests are accepted again once it drains', async (t) => {
  // One queued batch fills a 1-byte queue; the slow sink keeps it there for a while.
  const rx = await startReceiver(t, 'retry_after_secs = 7', 'delay_ms = 1500\nbuffer = { max_bytes = 1 }');
  const first = await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body: traces(span('first')) });
  t.equal(first.status, 200);
  const full = await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body: traces(span('refused')) });
  t.equal(full.status, 503);
  t.equal(full.headers['retry-after'], '7');
  t.match(statusOf(full), { code: 14, message: /a queue this request goes to is full/ });
  const logs = await send(`${rx.base}/v1/logs`, { headers: JSON_TYPE, body: JSON.stringify(oneLog('refused too')) });
  t.equal(logs.status, 503, 'a logs request bound for the same full queue is refused too');
  const empty = await send(`${rx.base}/v1/logs`, { headers: JSON_TYPE, body: '{"resourceLogs":[]}' });
  t.equal(empty.status, 200, 'a request with nothing to queue reaches no queue, so it is not refused');
  await rx.waitFor(1);
  let status = 0;
  await eventually(async () => {
    status = (await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body: traces(span('after')) })).status;
    return status === 200;
  });
  const names = (await rx.waitFor(2)).map((e) => (e as SpanEvent).name);
  t.strictSame(names, ['first', 'after'], 'the refused request left nothing behind');
});

t.test('a full metrics queue refuses metrics with 503 while traces and logs bound for another sink get 200', async (t) => {
  const { logs } = await startPipeline(
    t,
    `
[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:0"

[transforms.split]
type = "route"
inputs = ["otlp"]
route.metrics = { kind = "metric" }

[sinks.hot]
type = "memory_recorder"
inputs = ["split.metrics"]
delay_ms = 3000
buffer = { max_bytes = 1 }

[sinks.cold]
type = "memory_recorder"
inputs = ["split._unmatched"]
`,
  );
  const address = logs.lines.find((l) => l.component_id === 'otlp' && typeof l.address === 'string')?.address;
  const base = `http://${String(address)}`;
  const gauge = (value: number) => ({
    resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'load', gauge: { dataPoints: [{ timeUnixNano: '1700000000000000000', asDouble: value }] } }] }] }],
  });
  t.equal((await send(`${base}/v1/metrics`, { headers: JSON_TYPE, body: JSON.stringify(gauge(1)) })).status, 200, 'the first metrics request fills the hot queue');
  const refused = await send(`${base}/v1/metrics`, { headers: JSON_TYPE, body: JSON.stringify(gauge(2)) });
  t.equal(refused.status, 503, 'the next one is refused: its queue is full');
  t.equal(refused.headers['retry-after'], '5');
  const trace = await send(`${base}/v1/traces`, { headers: PROTOBUF, body: traces(span('while hot is full')) });
  t.equal(trace.status, 200, 'a trace reaches only the cold sink: accepted');
  const log = await send(`${base}/v1/logs`, { headers: JSON_TYPE, body: JSON.stringify(oneLog('while hot is full')) });
  t.equal(log.status, 200, 'so is a log record');
  await eventually(() => received('cold').length === 2, 10_000, 'both in the cold sink');
  t.strictSame(
    received('cold').map((e) => e.kind),
    ['span', 'log'],
  );
  await eventually(() => received('hot').length === 1, 10_000, 'the first point delivered');
  t.equal(received('hot').length, 1, 'the refused point was not queued');
});

t.test('CORS is off by default and answers preflights for allowed origins when configured', async (t) => {
  const off = await startReceiver(t);
  const preflightOff = await send(`${off.base}/v1/traces`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' },
  });
  t.equal(preflightOff.status, 405);
  const postOff = await send(`${off.base}/v1/traces`, { headers: { ...PROTOBUF, Origin: 'https://app.example.com' }, body: traces(span('x')) });
  t.equal(postOff.status, 200);
  t.equal(postOff.headers['access-control-allow-origin'], undefined);

  const on = await startReceiver(t, '[sources.otlp.cors]\nallowed_origins = ["https://app.example.com"]\nallowed_headers = ["X-Tenant"]\nmax_age_secs = 60');
  const preflight = await send(`${on.base}/v1/traces`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  t.equal(preflight.status, 204);
  t.match(preflight.headers, {
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': 'Content-Type, Content-Encoding, Authorization, X-Tenant',
    'access-control-max-age': '60',
    vary: 'Origin',
  });
  const foreign = await send(`${on.base}/v1/traces`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
  });
  t.equal(foreign.status, 403);
  t.equal(foreign.headers['access-control-allow-origin'], undefined);
  const post = await send(`${on.base}/v1/traces`, { headers: { ...PROTOBUF, Origin: 'https://app.example.com' }, body: traces(span('x')) });
  t.equal(post.status, 200);
  t.equal(post.headers['access-control-allow-origin'], 'https://app.example.com');
  await stillServes(t, on);
});

const noOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'openssl is not available on this machine to make a self-signed certificate';
  }
})();

t.test('TLS: the receiver serves HTTPS with the configured certificate', { skip: noOpenssl }, async (t) => {
  const dir = tempDir(t);
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const rx = await startReceiver(t, `[sources.otlp.tls]\ncert_file = ${JSON.stringify(cert)}\nkey_file = ${JSON.stringify(key)}`);
  t.match(rx.base, /^https:\/\//);
  const reply = await send(`${rx.base}/v1/traces`, { headers: PROTOBUF, body: traces(span('over tls')), ca: fs.readFileSync(cert) });
  t.equal(reply.status, 200);
  t.equal(((await rx.waitFor(1))[0] as SpanEvent).name, 'over tls');
  await t.rejects(send(rx.base.replace('https:', 'http:') + '/v1/traces', { headers: PROTOBUF, body: traces(span('plain')) }), 'plain HTTP is not answered');
});

t.test('a TLS file that cannot be read fails the start with TC_OTLP_TLS', async (t) => {
  const { logs } = await startPipeline(
    t,
    `
[sources.otlp]
type = "otlp_http"
address = "127.0.0.1:0"
tls = { cert_file = "/nonexistent/cert.pem", key_file = "/nonexistent/key.pem" }

[sinks.rec_tls]
type = "memory_recorder"
inputs = ["otlp"]
`,
  );
  await eventually(() => logs.lines.some((l) => l.component_id === 'otlp' && (l.err as { code?: string } | undefined)?.code === 'TC_OTLP_TLS'));
  const line = logs.lines.find((l) => (l.err as { code?: string } | undefined)?.code === 'TC_OTLP_TLS');
  t.match(String(line?.msg), /cannot load tls\.cert_file "\/nonexistent\/cert\.pem"/);
});

t.test('a port in use fails the start with TC_OTLP_LISTEN', async (t) => {
  const rx = await startReceiver(t);
  const address = rx.base.replace('http://', '');
  const { logs } = await startPipeline(
    t,
    `[sources.again]\ntype = "otlp_http"\naddress = "${address}"\n\n[sinks.rec_listen]\ntype = "memory_recorder"\ninputs = ["again"]\n`,
  );
  await eventually(() => logs.lines.some((l) => (l.err as { code?: string } | undefined)?.code === 'TC_OTLP_LISTEN'));
  await stillServes(t, rx);
});
