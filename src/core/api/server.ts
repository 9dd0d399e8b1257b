import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ThermoclineError, CORE_ERRORS } from '../errors.js';
import { splitAddress } from '../config/units.js';
import type { Runtime } from '../runtime/runtime.js';
import { componentsView } from './components.js';

/**
 * The agent's HTTP API (docs/operations.md#health-and-the-api): `/health`, `/metrics` (Prometheus
 * text), `/components` (JSON) and `/tap/<component>` (sampled events as JSON lines). Loopback by
 * default and read-only.
 */
export class ApiServer {
  private server: http.Server | undefined;

  constructor(private runtime: () => Runtime) {}

  async listen(address: string): Promise<AddressInfo> {
    const { host, port } = splitAddress(address);
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`internal error: ${(err as Error).message}\n`);
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new ThermoclineError(CORE_ERRORS.TC_API_LISTEN, `cannot listen on ${address}: ${err.message}`, { cause: err })));
      server.listen(port, host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const rt = this.runtime();
    if (url.pathname === '/health') {
      const failing = rt.statuses().filter((s) => !s.healthy);
      const body = { status: failing.length === 0 ? 'ok' : 'unhealthy', failing: failing.map((s) => s.toJSON()) };
      res.writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
      return;
    }
    if (url.pathname === '/metrics') {
      const text = await rt.metrics.text();
      res.writeHead(200, { 'content-type': rt.metrics.contentType }).end(text);
      return;
    }
    if (url.pathname === '/components') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(componentsView(rt), null, 2)}\n`);
      return;
    }
    if (url.pathname.startsWith('/tap/')) {
      this.tap(rt, decodeURIComponent(url.pathname.slice(5)), url, req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /health, /metrics, /components or /tap/<component>\n');
  }

  /** Stream events leaving a component, sampled, until `limit` lines or the client goes away. */
  private tap(rt: Runtime, id: string, url: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!rt.statuses().some((s) => s.id === id && (s.kind === 'source' || s.kind === 'transform'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no source or transform "${id}"\n`);
      return;
    }
    const limit = Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100);
    const sample = Math.min(1, Math.max(0, Number(url.searchParams.get('sample') ?? 1)));
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders(); // the client sees the stream open before the first event flows
    let sent = 0;
    const untap = rt.tap(id, (events, output) => {
      for (const e of events) {
        if (sent >= limit) break;
        if (sample < 1 && Math.random() >= sample) continue;
        sent++;
        res.write(`${JSON.stringify({ component: id, output: output || undefined, event: e })}\n`);
      }
      if (sent >= limit) finish();
    });
    const finish = () => {
      untap();
      res.end();
    };
    req.on('close', untap);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
