import type http from 'node:http';
import type { Socket } from 'node:net';
import { z } from 'zod';
import { duration } from '../config/units.js';

/**
 * Connection limits shared by every HTTP listener of the agent (the API, otlp_http,
 * http_events): a client that sends half a request, or never reads its answer, must not hold a
 * file descriptor for long, and many of them must not exhaust the process's descriptors
 * (docs/operations.md#http-listeners-timeouts-and-connection-limits).
 */
export interface HttpLimits {
  /** Milliseconds from the connection (or the previous request) until the headers must be complete. */
  header_timeout: number;
  /** Milliseconds for the whole request, headers and body. */
  request_timeout: number;
  /** Milliseconds a connection may stay silent: between keep-alive requests, or while the client reads nothing. */
  idle_timeout: number;
  /** Open connections at most; more are closed at once and counted. */
  max_connections: number;
}

/** The `http` table of a listener; `maxConnections` is the listener's default cap. */
export function httpLimitsSchema(maxConnections = 1024) {
  return z
    .strictObject({
      header_timeout: duration()
        .prefault('10s')
        .describe('How long a client may take to send the request line and headers, from connecting (or from its previous request). A slower client gets 408 and is disconnected.'),
      request_timeout: duration()
        .prefault('60s')
        .describe('How long a client may take to send a whole request, headers and body. A slower upload gets 408 and is disconnected. Must not be shorter than `header_timeout`.'),
      idle_timeout: duration()
        .prefault('90s')
        .describe('How long a connection may stay silent: a keep-alive connection waiting for its next request, or a client that stops reading its answer. Longer than the 60 s idle timeout of common load balancers, so that they close first.'),
      max_connections: z
        .number()
        .int()
        .positive()
        .default(maxConnections)
        .describe(`The most connections open at once; more are closed as soon as they are accepted and counted in \`thermocline_http_connections_refused_total\`. Keep it well below the process's file-descriptor limit (\`ulimit -n\`, systemd \`LimitNOFILE\`). Default ${maxConnections}.`),
    })
    .refine((v) => v.request_timeout === 0 || v.header_timeout <= v.request_timeout, {
      message: 'header_timeout must not be longer than request_timeout',
      path: ['header_timeout'],
    })
    .prefault({})
    .describe('Timeouts and the connection cap of this listener, against clients that connect and then send slowly or not at all.');
}

/** What a listener reports about its connections (docs/operations.md#what-to-alert-on). */
export interface ConnectionMetrics {
  /** One connection closed on arrival because `max_connections` were open. */
  refused(): void;
  /** The number of connections open now. */
  open(n: number): void;
}

/**
 * Options for `http.createServer`/`https.createServer`. Node checks the header and request
 * timeouts only every `connectionsCheckingInterval` (30 s by default), which can be set only
 * here: checking every quarter of the shortest timeout keeps a slow client's overstay small.
 */
export function serverOptions(limits: HttpLimits): http.ServerOptions {
  const shortest = Math.min(...[limits.header_timeout, limits.request_timeout].filter((ms) => ms > 0));
  return {
    headersTimeout: limits.header_timeout,
    requestTimeout: limits.request_timeout,
    connectionsCheckingInterval: Number.isFinite(shortest) ? Math.min(1000, Math.max(100, Math.floor(shortest / 4))) : 30_000,
  };
}

/**
 * Applies the idle timeout and the connection cap to a server created with `serverOptions`.
 * Node closes connections past `maxConnections` itself and reports each with 'drop'.
 */
export function hardenServer(server: http.Server, limits: HttpLimits, metrics: ConnectionMetrics): void {
  server.keepAliveTimeout = limits.idle_timeout;
  // A socket timeout with no 'timeout' listener makes Node destroy the socket.
  server.timeout = limits.idle_timeout;
  server.maxConnections = limits.max_connections;
  let open = 0;
  server.on('connection', (socket: Socket) => {
    metrics.open(++open);
    socket.once('close', () => metrics.open(--open));
  });
  server.on('drop', () => metrics.refused());
}
