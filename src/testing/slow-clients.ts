import http from 'node:http';
import net from 'node:net';
import { eventually } from './pipeline.js';

/** A raw connection a test holds open, and whether the server has closed it. */
export interface HeldConnection {
  readonly socket: net.Socket;
  readonly closed: () => boolean;
}

/**
 * What a slow client sends before going quiet: nothing, part of the headers, or the headers
 * and part of a declared body.
 */
export type Stall = 'silent' | 'headers' | 'body';

const PARTIAL: Record<Stall, string> = {
  silent: '',
  headers: 'POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ',
  body: 'POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"resourceSpans":',
};

/** Opens a connection, sends the start of a request and then nothing more. */
export async function stall(port: number, how: Stall): Promise<HeldConnection> {
  const socket = net.connect(port, '127.0.0.1');
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined); // a reset is one way for the server to close it
  socket.on('data', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve).once('close', resolve));
  if (!closed && PARTIAL[how] !== '') socket.write(PARTIAL[how]);
  return { socket, closed: () => closed };
}

/**
 * Holds `count` stalled connections (every kind in turn), checks that a normal client is served
 * meanwhile, that `extra` connections past the cap are refused at once and counted, and that the
 * server closes every stalled one by itself. The caller sets `max_connections = count + 1` and
 * timeouts of a second or two (long enough that no stalled connection is cut off before the
 * extra ones arrive); the bounds here are generous on purpose. Returns the refused count, which
 * should be `extra - 1`: the first extra connection takes the slot the normal client gave back.
 */
export async function checkSlowClients(options: {
  port: number;
  count: number;
  extra: number;
  /** A request a healthy client makes; resolves to its status. */
  normal: () => Promise<number>;
  /** The listener's open-connections gauge and refused counter, as the agent reports them. */
  open: () => Promise<number>;
  refused: () => Promise<number>;
}): Promise<{ normalStatus: number; refused: number }> {
  const kinds: Stall[] = ['silent', 'headers', 'body'];
  const held: HeldConnection[] = [];
  for (let i = 0; i < options.count; i++) held.push(await stall(options.port, kinds[i % kinds.length] as Stall));
  await eventually(async () => (await options.open()) >= options.count, 10_000, `${options.count} open connections`);
  const normalStatus = await options.normal();
  const before = await options.refused();
  const excess: HeldConnection[] = [];
  for (let i = 0; i < options.extra; i++) excess.push(await stall(options.port, 'silent'));
  await eventually(() => excess.every((c) => c.closed()), 10_000, 'the connections past the cap to be closed');
  // The first extra connection takes the slot the normal client has given back.
  await eventually(async () => (await options.refused()) - before >= options.extra - 1, 10_000, 'refused connections to be counted');
  const refused = (await options.refused()) - before;
  await eventually(() => held.every((c) => c.closed()), 20_000, 'the server to close every stalled connection');
  await eventually(async () => (await options.open()) === 0, 10_000, 'no connection left open');
  return { normalStatus, refused };
}

/** A GET on a fresh connection (no keep-alive pool), resolving to the status. */
export function getStatus(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, headers: { connection: 'close', ...headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

/** A metric's value for one label set in Prometheus text, 0 when absent. */
export function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
