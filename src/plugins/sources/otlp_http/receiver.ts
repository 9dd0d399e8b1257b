import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { errorMessage, hardenServer, listen, serverOptions, type SourceContext, type SourceInstance, ThermoclineError } from '../../../index.js';
import type { OtlpHttpConfig } from './config.js';
import { EventGate } from './event-gate.js';
import { RequestHandler } from './handler.js';
import { OTLP_SOURCE_ERRORS } from './errors.js';

/** How long `stop` lets requests in flight finish before it closes their connections. */
const DRAIN_MS = 2000;

/**
 * The HTTP(S) server. `start` listens (a busy port is a retryable start failure); `stop` stops
 * accepting, answers 503 to requests that have not been queued yet, waits briefly for the ones
 * being queued, then closes every connection. `stop` is idempotent and safe without `start`.
 */
export class Receiver implements SourceInstance {
  private server: http.Server | undefined;
  private readonly handler: RequestHandler;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly gate: EventGate;

  constructor(
    private readonly config: OtlpHttpConfig,
    private readonly ctx: SourceContext,
  ) {
    this.gate = new EventGate(config, ctx);
    this.handler = new RequestHandler(config, ctx, this.gate);
  }

  async start(): Promise<void> {
    await this.gate.start();
    const server = this.createServer();
    hardenServer(server, this.config.http, this.ctx.metrics.connections());
    let address: string;
    try {
      address = await listen(server, this.config.address);
    } catch (err) {
      throw new ThermoclineError(OTLP_SOURCE_ERRORS.TC_OTLP_LISTEN, `otlp_http source "${this.ctx.id}" cannot listen on ${this.config.address}: ${errorMessage(err)}`, { cause: err });
    }
    server.on('error', (err) => this.ctx.logger.error({ err }, 'OTLP/HTTP server error'));
    this.server = server;
    this.ctx.publish({ address });
    this.ctx.logger.info({ address, tls: this.config.tls !== undefined }, `OTLP/HTTP receiver listening on ${address}`);
  }

  private createServer(): http.Server {
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const p = this.handler.handle(req, res).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    };
    const tls = this.config.tls;
    const options = serverOptions(this.config.http);
    if (tls === undefined) return http.createServer(options, onRequest);
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = fs.readFileSync(tls.cert_file);
      key = fs.readFileSync(tls.key_file);
      return https.createServer({ ...options, cert, key }, onRequest);
    } catch (err) {
      throw new ThermoclineError(
        OTLP_SOURCE_ERRORS.TC_OTLP_TLS,
        `otlp_http source "${this.ctx.id}": cannot load tls.cert_file "${tls.cert_file}" / tls.key_file "${tls.key_file}": ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  async stop(): Promise<void> {
    this.handler.stopping = true;
    const server = this.server;
    if (server === undefined) return this.gate.stop();
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]);
    clearTimeout(timer);
    server.closeAllConnections();
    await closed;
    await this.gate.stop();
  }
}
