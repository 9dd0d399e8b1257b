/**
 * The sink over HTTP, against a stand-in server (testdata/fake-server.ts): what goes on the wire and
 * how failures that only a network produces are classified. The real client library makes the
 * requests and parses the answers.
 */
import t, { type Test } from 'tap';
import { PermanentError, RetryableError, ThermoclineError } from '../../../index.js';
import { FakeClickHouse, clickHouseError } from './testdata/fake-server.js';
import { log, meta, openSink } from './testdata/harness.js';

async function fake(t: Test): Promise<{ server: FakeClickHouse; url: string }> {
  const server = new FakeClickHouse();
  const url = await server.listen();
  t.teardown(() => server.close());
  return { server, url };
}

const events = Array.from({ length: 200 }, (_, i) => log(i, { message: `GET /api/cart 200 ${i % 7}ms request=${i} user-agent="Mozilla/5.0"` }));

t.test('inserts carry the token in their SETTINGS and a gzip body', async (t) => {
  const { server, url } = await fake(t);
  const { sink } = openSink(t, url, { migrate: false });
  await sink.start?.();
  await sink.write(events, meta(42));
  const [insert] = server.inserts;
  t.equal(
    insert?.query,
    "INSERT INTO telemetry.logs_events (timestamp, service, host, level, trace_id, span_id, message, labels) SETTINGS insert_deduplicate = 1, insert_deduplication_token = 'ch@test:42:logs_events' FORMAT JSONCompactEachRow",
  );
  t.equal(insert?.contentEncoding, 'gzip', 'the body is gzip-compressed');
  const lines = insert?.body.split('\n').filter(Boolean) ?? [];
  t.equal(lines.length, 200, 'one line per row');
  t.same(
    JSON.parse(lines[3] ?? ''),
    [Math.floor(events[3]!.time_us / 1000), 'checkout', 'web-1', 'info', '', '', events[3]!.message, { seq: '3' }],
    "a row in column order, time in the column's milliseconds",
  );
  t.ok((insert?.wireBytes ?? 0) * 3 < (insert?.body.length ?? 0), `compressed to ${insert?.wireBytes} of ${insert?.body.length} bytes`);
});

t.test('compression = "none" and insert_mode = "async"', async (t) => {
  const { server, url } = await fake(t);
  const { sink } = openSink(t, url, { migrate: false, compression: 'none', insert_mode: 'async' });
  await sink.write(events.slice(0, 1), meta(7));
  t.equal(server.inserts[0]?.contentEncoding, undefined, 'no Content-Encoding');
  t.match(
    server.inserts[0]?.query,
    /SETTINGS insert_deduplicate = 1, insert_deduplication_token = 'ch@test:7:logs_events', async_insert = 1, wait_for_async_insert = 1, async_insert_deduplicate = 1 FORMAT/,
    'async inserts wait, and keep the token',
  );
});

t.test('failures only a network produces are classified', async (t) => {
  const { server, url } = await fake(t);
  const { sink, logs } = openSink(t, url, { migrate: false });
  const attempt = (seq: number) => sink.write(events.slice(0, 5), meta(seq)).catch((err: unknown) => err);

  server.script.push({ status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' });
  const badGateway = await attempt(1);
  t.type(badGateway, RetryableError, "a proxy's 502 without a ClickHouse code is retryable");
  t.match(badGateway, { code: 'TC_SINK_RETRYABLE', message: /no ClickHouse error code.*502 Bad Gateway/s });

  for (const [code, type] of [
    [252, 'TOO_MANY_PARTS'],
    [241, 'MEMORY_LIMIT_EXCEEDED'],
    [159, 'TIMEOUT_EXCEEDED'],
  ] as const) {
    server.script.push(clickHouseError(code, type, 'overloaded'));
    t.match(await attempt(2), { name: 'RetryableError', code: 'TC_SINK_RETRYABLE', message: new RegExp(`code ${code} \\(${type}\\)`) }, `${type} is retryable`);
  }

  for (const [code, type] of [
    [497, 'ACCESS_DENIED'],
    [516, 'AUTHENTICATION_FAILED'],
  ] as const) {
    server.script.push(clickHouseError(code, type, 'default: Not enough privileges'));
    t.match(await attempt(3), { name: 'RetryableError', code: 'TC_CH_NOT_WRITABLE' }, `${type} keeps the data queued`);
  }
  t.match(logs.text(), /GRANT INSERT/, 'and is logged with what to do');

  server.script.push(clickHouseError(9999, 'SOMETHING_NEW', 'a code this sink does not know'));
  const unknown = await attempt(4);
  t.ok(
    unknown instanceof ThermoclineError && !(unknown instanceof RetryableError) && !(unknown instanceof PermanentError),
    "an unknown code is left to the runtime's unclassified policy",
  );
  t.match(unknown, { code: 'TC_CH_INSERT_FAILED', message: /code 9999 \(SOMETHING_NEW\)/ });

  // Parse errors over HTTP go through the same isolation: the stand-in rejects once, then accepts.
  server.script.push(clickHouseError(27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'Cannot parse input: (at row 2)'));
  server.inserts.length = 0;
  t.same(await attempt(5), undefined, 'a row that fails only inside the whole batch is not rejected');
  t.same(
    server.inserts.map((i) => /token = '([^']+)'/.exec(i.query)?.[1]),
    ['ch@test:5:logs_events', 'ch@test:5:logs_events:0-1', 'ch@test:5:logs_events:1-2', 'ch@test:5:logs_events:2-3', 'ch@test:5:logs_events:3-5'],
    'split around the row ClickHouse named, each part with its own token',
  );
});

t.test('a server that is down: start and writes fail, retryable', async (t) => {
  const { server, url } = await fake(t);
  await server.close();
  const { sink } = openSink(t, url, { migrate: false });
  await t.rejects(sink.start?.() ?? Promise.resolve(), { code: 'TC_CH_UNREACHABLE' }, 'start fails: the runtime retries it');
  const err = await sink.write(events.slice(0, 1), meta(1)).catch((e: unknown) => e);
  t.type(err, RetryableError);
  t.match(err, { code: 'TC_CH_UNREACHABLE', message: /cannot reach ClickHouse at http:\/\/default:\*+@127\.0\.0\.1/ }, 'the password is masked');
});
