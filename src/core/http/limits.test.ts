import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { checkSlowClients, eventually, getStatus, type TestContext } from '../../testing/index.js';
import { hardenServer, httpLimitsSchema, serverOptions } from './limits.js';

async function listen(t: TestContext, table: Record<string, unknown>) {
  const limits = httpLimitsSchema().parse(table);
  let open = 0;
  let refused = 0;
  const server = http.createServer(serverOptions(limits), (_req, res) => res.end('ok'));
  hardenServer(server, limits, { open: (n) => (open = n), refused: () => refused++ });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, open: () => open, refused: () => refused };
}

t.test('the defaults', async (t) => {
  t.same(httpLimitsSchema().parse(undefined), { header_timeout: 10_000, request_timeout: 60_000, idle_timeout: 90_000, max_connections: 1024 });
  t.equal(httpLimitsSchema(64).parse({}).max_connections, 64);
  const bad = httpLimitsSchema().safeParse({ header_timeout: '2m', request_timeout: '1m' });
  t.notOk(bad.success, 'Node refuses a header timeout longer than the request timeout');
  t.match(bad.error?.issues[0], { path: ['header_timeout'], message: /must not be longer than request_timeout/ });
});

t.test('stalled clients are cut off, connections past the cap are refused and counted, others are served', async (t) => {
  const l = await listen(t, { header_timeout: '1s', request_timeout: '2s', idle_timeout: '2s', max_connections: 13 });
  const result = await checkSlowClients({
    port: l.port,
    count: 12,
    extra: 5,
    normal: () => getStatus(`http://127.0.0.1:${l.port}/`),
    open: async () => l.open(),
    refused: async () => l.refused(),
  });
  t.equal(result.normalStatus, 200, 'a normal client is served while the slow ones hold their connections');
  t.equal(result.refused, 4);
});

t.test('an idle keep-alive connection is closed after idle_timeout', async (t) => {
  const l = await listen(t, { header_timeout: '500ms', request_timeout: '1s', idle_timeout: '500ms' });
  const socket = net.connect(l.port, '127.0.0.1');
  let closed = false;
  let answer = '';
  socket.on('data', (d) => (answer += String(d)));
  socket.on('close', () => (closed = true));
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await eventually(() => answer.includes('ok'), 10_000, 'the answer');
  t.match(answer, /keep-alive/i, 'the connection is kept for a next request');
  await eventually(() => closed, 10_000, 'the idle connection to be closed');
});
