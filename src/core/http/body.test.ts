/**
 * `discardRest`, the bounded read of a refused upload, over a real node:http server: it
 * reports whether the request ended, so that the 413 is sent only when the client can read it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { eventually } from '../../testing/index.js';
import { discardRest } from './body.js';

/** A server whose every request is handed to `discardRest(req, limit, ms)`; the outcomes are collected. */
async function discarding(t: Test, limit: number, ms: number) {
  const outcomes: boolean[] = [];
  const server = http.createServer((req, res) => {
    void discardRest(req, limit, ms).then((ended) => {
      outcomes.push(ended);
      res.writeHead(413, ended ? {} : { Connection: 'close' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, outcomes };
}

/**
 * Send headers and `bytes` of body (of `declared` announced); an incomplete upload is left open
 * for `holdMs`, then abandoned. Resolves with how the exchange ended for the client.
 */
function upload(port: number, declared: number, bytes: number, holdMs = 0): Promise<'answered' | 'error' | 'abandoned'> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (how: 'answered' | 'error' | 'abandoned') => {
      clearTimeout(timer);
      resolve(how);
    };
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', agent: false, headers: { 'Content-Length': declared } });
    req.on('error', () => done('error')); // the server may hang up on what it does not read
    req.on('response', (res) => res.resume().on('end', () => done('answered')));
    req.write(Buffer.alloc(bytes));
    if (bytes >= declared) req.end();
    else
      timer = setTimeout(() => {
        req.destroy();
        done('abandoned');
      }, holdMs);
  });
}

t.test('an upload that ends within the bounds is read to its end', async (t) => {
  const { port, outcomes } = await discarding(t, 1024 * 1024, 5_000);
  t.equal(await upload(port, 512 * 1024, 512 * 1024), 'answered');
  t.strictSame(outcomes, [true]);
});

t.test('an upload longer than the limit is given up on', async (t) => {
  const { port, outcomes } = await discarding(t, 64 * 1024, 5_000);
  await upload(port, 4 * 1024 * 1024, 4 * 1024 * 1024);
  t.strictSame(outcomes, [false]);
});

t.test('a stalled upload is given up on after the time limit, and answered while the client still waits', async (t) => {
  const { port, outcomes } = await discarding(t, 1024 * 1024, 200);
  t.equal(await upload(port, 100_000, 1_000, 60_000), 'answered');
  t.strictSame(outcomes, [false]);
});

t.test('a client that disconnects mid-upload ends the wait without the time limit', async (t) => {
  const { port, outcomes } = await discarding(t, 1024 * 1024, 120_000);
  t.equal(await upload(port, 100_000, 1_000, 100), 'abandoned');
  await eventually(() => outcomes.length === 1, 10_000, 'the outcome');
  t.strictSame(outcomes, [false]);
});
