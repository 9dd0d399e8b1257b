import http from 'node:http';
import os from 'node:os';
import { admissionCounters, EventAdmitter, hardenServer, listen as listenOn, serverOptions, type SchemaRegistry, schemaRegistryOf, ThermoclineError, errorMessage, type SourceContext, type SourceInstance } from '../../../index.js';
import type { HttpEventsConfig } from './config.js';
import { EventsHandler } from './handler.js';
import { HTTP_EVENTS_ERRORS } from './errors.js';
import { SchemaApi } from './schema-api.js';
import { expandSchemaPatterns, readSchemaFile } from './schema-files.js';

/** How long `stop` lets requests in flight finish before it closes their connections. */
const DRAIN_MS = 2000;

/**
 * The events receiver: an HTTP server, the schema registry it validates with (when `registry`
 * names a postgres sink) and the schema files it registers at start and on SIGHUP. `stop` is
 * idempotent and safe without `start`.
 */
export class HttpEventsSource implements SourceInstance {
  private server: http.Server | undefined;
  private registry: SchemaRegistry | undefined;
  private readonly handler: EventsHandler;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly onHangup = () => void this.registerFiles();

  constructor(
    private readonly config: HttpEventsConfig,
    private readonly ctx: SourceContext,
  ) {
    const admitter = new EventAdmitter({
      unregistered: config.unregistered,
      invalid: 'refuse',
      schemaOf: (type) => this.registry?.get(type),
      counters: admissionCounters(ctx.metrics),
    });
    this.handler = new EventsHandler(config, ctx, admitter, new SchemaApi(config, () => this.registry, os.hostname()));
  }

  async start(): Promise<void> {
    if (this.config.registry !== undefined && this.registry === undefined) {
      this.registry = schemaRegistryOf(this.ctx, this.config.registry, this.config.registry_poll_secs);
      await this.registry.start();
      await this.registerFiles();
      process.on('SIGHUP', this.onHangup);
    }
    await this.listen();
  }

  /** Registers every schema file; a file that fails is logged and the others still count. */
  private async registerFiles(): Promise<void> {
    const registry = this.registry;
    if (registry === undefined || this.config.schemas.length === 0) return;
    let files: string[];
    try {
      files = await expandSchemaPatterns(this.config.schemas);
    } catch (err) {
      this.ctx.logger.error({ code: 'TC_SCHEMA_FILE' }, errorMessage(err));
      return;
    }
    for (const file of files) {
      try {
        const { type, schema } = await readSchemaFile(file);
        const result = await registry.register(type, schema, { by: `file:${os.hostname()}:${file}` });
        if (!result.unchanged) this.ctx.logger.info({ type, version: result.stored.version, file }, `registered schema ${type} ${result.stored.version}`);
      } catch (err) {
        const code = err instanceof ThermoclineError ? err.code : 'TC_SCHEMA_FILE';
        this.ctx.logger.error({ code, file }, `schema file not registered: ${errorMessage(err)}`);
      }
    }
  }

  private async listen(): Promise<void> {
    const server = http.createServer(serverOptions(this.config.http), (req, res) => {
      const p = this.handler.handle(req, res).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    });
    hardenServer(server, this.config.http, this.ctx.metrics.connections());
    let address: string;
    try {
      address = await listenOn(server, this.config.address);
    } catch (err) {
      throw new ThermoclineError(HTTP_EVENTS_ERRORS.TC_EVENTS_LISTEN, `http_events source "${this.ctx.id}" cannot listen on ${this.config.address}: ${errorMessage(err)}`, { cause: err });
    }
    server.on('error', (err) => this.ctx.logger.error({ err }, 'events HTTP server error'));
    this.server = server;
    this.ctx.publish({ address });
    this.ctx.logger.info({ address, registry: this.registry?.origin ?? 'none' }, `events receiver listening on ${address}`);
  }

  async stop(): Promise<void> {
    this.handler.stopping = true;
    process.off('SIGHUP', this.onHangup);
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]);
      clearTimeout(timer);
      server.closeAllConnections();
      await closed;
    }
    await this.registry?.stop();
  }
}
