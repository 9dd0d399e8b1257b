import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ThermoclineError, CORE_ERRORS } from '../errors.js';
import { splitAddress } from '../config/units.js';
import type { TopLevelConfig } from '../config/schema.js';
import { bearerCheck } from '../http/bearer.js';
import { hardenServer, serverOptions } from '../http/limits.js';
import type { Runtime } from '../runtime/runtime.js';
import { componentsView } from './components.js';
import { hostGuard } from './host.js';
import { tapStream } from './tap.js';

export type ApiOptions = Pick<TopLevelConfig['api'], 'allowed_hosts' | 'auth' | 'tap' | 'http'>;

/** What `[api]` defaults to, for callers that build an ApiServer without a config (tests, tools). */
const DEFAULTS: ApiOptions = {
  allowed_hosts: [],
  auth: undefined,
  tap: { max_buffer_bytes: 1024 * 1024 },
  http: { header_timeout: 10_000, request_timeout: 60_000, idle_timeout: 90_000, max_connections: 64 },
};

const text = (res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}) =>
  void res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(body);

/**
 * The agent's HTTP API (docs/operations.md#health-and-the-api): `/health`, `/metrics` (Prometheus
 * text), `/components` (JSON) and `/tap/<component>` (sampled events as JSON lines). Loopback by
 * default and read-only; `/components` and `/tap` show payloads and state, so they alone sit
 * behind the optional bearer token, while probes and scrapers keep `/health` and `/metrics`.
 */
export class ApiServer {
  private server: http.Server | undefined;
  private readonly options: ApiOptions;
  private readonly authorized: ((header: string | undefined) => boolean) | undefined;

  constructor(
    private runtime: () => Runtime,
    options: Partial<ApiOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.authorized = bearerCheck(this.options.auth?.bearer_token);
  }

  async listen(address: string): Promise<AddressInfo> {
    const { host, port } = splitAddress(address);
    const hostAllowed = hostGuard(host, this.options.allowed_hosts);
    const server = http.createServer(serverOptions(this.options.http), (req, res) => {
      if (!hostAllowed(req.headers.host)) {
        text(
          res,
          421,
          `${CORE_ERRORS.TC_API_HOST_REFUSED}: the API does not answer for Host "${req.headers.host ?? ''}"; add it to [api] allowed_hosts or use http://127.0.0.1:${port}\n`,
        );
        return;
      }
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`internal error: ${(err as Error).message}\n`);
      });
    });
    hardenServer(server, this.options.http, this.runtime().metrics.connections('api'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new ThermoclineError(CORE_ERRORS.TC_API_LISTEN, `cannot listen on ${address}: ${err.message}`, { cause: err })));
      server.listen(port, host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      text(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    let url: URL;
    let path: string;
    try {
      // Concatenated rather than resolved against a base, so that a path like `//x` stays a path.
      url = new URL(`http://localhost${req.url ?? '/'}`);
      path = decodeURIComponent(url.pathname);
    } catch {
      text(res, 400, `${CORE_ERRORS.TC_API_BAD_PATH}: the path "${req.url ?? ''}" is not valid percent-encoding\n`);
      return;
    }
    const rt = this.runtime();
    if (path === '/health') {
      const failing = rt.statuses().filter((s) => !s.healthy);
      const body = { status: failing.length === 0 ? 'ok' : 'unhealthy', failing: failing.map((s) => s.toJSON()) };
      res.writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
      return;
    }
    if (path === '/metrics') {
      const body = await rt.metrics.text();
      res.writeHead(200, { 'content-type': rt.metrics.contentType }).end(body);
      return;
    }
    const guarded = path === '/components' || path.startsWith('/tap/');
    if (guarded && this.authorized !== undefined && !this.authorized(req.headers.authorization)) {
      text(res, 401, `${CORE_ERRORS.TC_API_UNAUTHORIZED}: ${path === '/components' ? '/components' : '/tap'} needs "Authorization: Bearer <[api] auth.bearer_token>"\n`, {
        'www-authenticate': 'Bearer realm="thermocline"',
      });
      return;
    }
    if (path === '/components') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(componentsView(rt), null, 2)}\n`);
      return;
    }
    if (path.startsWith('/tap/')) {
      this.tap(rt, path.slice(5), url, req, res);
      return;
    }
    text(res, 404, 'not found: try /health, /metrics, /components or /tap/<component>\n');
  }

  /** Stream events leaving a component, sampled, until `limit` lines or the client goes away. */
  private tap(rt: Runtime, id: string, url: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!rt.statuses().some((s) => s.id === id && (s.kind === 'source' || s.kind === 'transform'))) {
      text(res, 404, `no source or transform "${id}"\n`);
      return;
    }
    const limit = Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100);
    const sample = Math.min(1, Math.max(0, Number(url.searchParams.get('sample') ?? 1)));
    // A tap waits for events as long as the reader wants: quiet stretches are not idleness.
    req.socket.setTimeout(0);
    tapStream(rt, id, { limit, sample, maxBufferBytes: this.options.tap.max_buffer_bytes }, req, res);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
