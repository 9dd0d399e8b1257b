/**
 * The agent the demo runs in this process: the config (the default one unless `-c`) with its
 * directories and ports moved into the demo's scratch directory through the environment variables
 * the default config reads, so that an agent started with `npm start` (which owns its embedded
 * engines and listens on 8686/4318) is never touched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ApiServer } from '../core/api/server.js';
import { loadConfigFile, type ComponentSpec, type LoadedConfig } from '../core/config/load.js';
import { freePorts } from '../core/net.js';
import { createLogger } from '../core/runtime/logger.js';
import { Runtime } from '../core/runtime/runtime.js';
import { sleep } from '../core/runtime/timing.js';
import { builtinRegistry } from '../plugins/registry.js';
import { assertAncestorsTraversable, serverOwner } from '../storage/postgres/embedded-host.js';
import { DemoError } from './errors.js';
import { displayPath, type Scratch } from './scratch.js';

/** One row of the API's `/components`. */
export interface ComponentView {
  id: string;
  kind: string;
  type: string;
  state: string;
  error?: string;
  since?: string;
  sent_events: number;
  queue?: { events: number };
}

/** Where the demo sends and reads, taken from the loaded config. */
export interface Targets {
  /** `http://host:port` of the otlp_http source. */
  readonly otlp: string;
  /** The file the demo appends JSON lines to: in the directory a json file source reads (`<dir>/*.log`) inside the scratch directory. */
  readonly logFile: string | undefined;
  /** The label that carries a file line's path (`path_label`). */
  readonly pathLabel: string;
  readonly postgresUrl: string;
  readonly clickhouseUrl: string;
  /** The rollup_exporter component, if the config has one. */
  readonly exporter: ComponentSpec | undefined;
  /** The prometheus_scrape source that scrapes the agent's own /metrics, if any. */
  readonly selfScrape: ComponentSpec | undefined;
  /** `http://host:port` of the http_events source, if the config has one. */
  readonly events: string | undefined;
}

const loopback = (address: string) => address.replace(/^(0\.0\.0\.0|\[::\]):/, '127.0.0.1:');

/** The environment the config is read with: the scratch directories, free loopback ports, embedded stores. */
export async function demoEnv(scratch: Scratch): Promise<NodeJS.ProcessEnv> {
  const [api, otlp, events] = (await freePorts(3)) as [number, number, number];
  return {
    ...process.env,
    THERMOCLINE_DATA_DIR: scratch.dir,
    THERMOCLINE_LOG_DIR: scratch.logDir,
    THERMOCLINE_TARGETS_DIR: scratch.targetsDir,
    THERMOCLINE_API_ADDRESS: `127.0.0.1:${api}`,
    THERMOCLINE_OTLP_ADDRESS: `127.0.0.1:${otlp}`,
    THERMOCLINE_EVENTS_ADDRESS: `127.0.0.1:${events}`,
    // The schema files shipped with the package, whatever the working directory.
    THERMOCLINE_SCHEMAS_DIR: process.env.THERMOCLINE_SCHEMAS_DIR ?? fileURLToPath(new URL('../../config/schemas', import.meta.url)),
    // Empty: the default config falls back to the embedded engines under the scratch directory.
    PG_URL: '',
    CH_URL: '',
  };
}

export async function loadDemoConfig(file: string, env: NodeJS.ProcessEnv, scratch: Scratch): Promise<{ config: LoadedConfig; targets: Targets }> {
  const config = await loadConfigFile(file, { registry: builtinRegistry(), env });
  const need = (what: string) =>
    new DemoError(
      `${file} has no ${what}: the demo needs an otlp_http source, a postgres sink and a clickhouse sink, as config/thermocline.toml has (run without -c to use it)`,
    );
  if (config.dataDir !== scratch.dir) {
    throw new DemoError(
      `the data_dir of ${file} is ${config.dataDir}, not the demo's directory ${displayPath(scratch.dir)}: the demo runs only configs whose data_dir reads \${THERMOCLINE_DATA_DIR}, as config/thermocline.toml does, so that it never writes into a real agent's data`,
    );
  }
  if (!config.api.enabled) throw new DemoError(`${file} disables [api]: the demo watches the pipeline through the API's /components`);
  const of = (kind: string, type: string) => config.components.find((c) => c.kind === kind && c.type === type);
  const otlp = of('source', 'otlp_http');
  const pgSink = of('sink', 'postgres');
  const chSink = of('sink', 'clickhouse');
  if (!otlp) throw need('otlp_http source');
  if (!pgSink) throw need('postgres sink');
  if (!chSink) throw need('clickhouse sink');
  const eventsSource = of('source', 'http_events');
  const fileSource = config.components.find((c) => c.kind === 'source' && c.type === 'file' && c.options.format === 'json');
  // A directory the file source reads with `<dir>/*.log`, inside the demo's own directory: the demo
  // never writes into a real log directory a custom config may name.
  const logDir = (fileSource?.options.include as string[] | undefined)
    ?.filter((p) => /^[^*?[{]*\/\*\.log$/.test(p))
    .map((p) => path.resolve(path.dirname(p)))
    .find((d) => d.startsWith(scratch.dir + path.sep));
  return {
    config,
    targets: {
      otlp: `http://${loopback(otlp.options.address as string)}`,
      events: eventsSource === undefined ? undefined : `http://${loopback(eventsSource.options.address as string)}`,
      logFile: logDir === undefined ? undefined : path.join(logDir, 'checkout.log'),
      pathLabel: (fileSource?.options.path_label as string | undefined) ?? 'file',
      postgresUrl: pgSink.options.url as string,
      clickhouseUrl: chSink.options.url as string,
      exporter: of('task', 'rollup_exporter'),
      selfScrape: config.components.find(
        (c) =>
          c.type === 'prometheus_scrape' &&
          ((c.options.endpoints as string[] | undefined) ?? []).some((e) => e.includes(`${loopback(config.api.address)}/metrics`)),
      ),
    },
  };
}

/**
 * As root the embedded PostgreSQL runs as "postgres", which must traverse every directory above
 * the scratch directory. The runtime would only retry that failure in the background: say it now.
 */
export async function checkEmbeddedReachable(targets: Targets, dir: string): Promise<void> {
  if (targets.postgresUrl.trim() !== 'embedded') return;
  const owner = await serverOwner();
  if (owner) await assertAncestorsTraversable(dir, owner);
}

export class DemoAgent {
  private constructor(
    readonly config: LoadedConfig,
    readonly runtime: Runtime,
    private readonly apiServer: ApiServer,
    readonly api: string,
    private readonly logger: Logger,
    private readonly logStream: fs.WriteStream,
    private readonly logFile: string,
  ) {}

  static async start(config: LoadedConfig, logFile: string): Promise<DemoAgent> {
    const logStream = fs.createWriteStream(logFile, { flags: 'a' });
    const logger = createLogger({ level: 'info', secrets: config.secrets, destination: logStream });
    let runtime: Runtime;
    try {
      runtime = await Runtime.start(config, { logger });
    } catch (err) {
      logStream.end();
      throw err;
    }
    const api = new ApiServer(() => runtime, config.api);
    try {
      await api.listen(config.api.address);
    } catch (err) {
      await runtime.stop();
      logStream.end();
      throw err;
    }
    return new DemoAgent(config, runtime, api, `http://${loopback(config.api.address)}`, logger, logStream, logFile);
  }

  async components(): Promise<ComponentView[]> {
    const res = await fetch(`${this.api}/components`, { signal: AbortSignal.timeout(10_000) });
    return (await res.json()) as ComponentView[];
  }

  /**
   * Until every component runs. The runtime retries a component that failed to start in the
   * background; one that keeps failing (or stays degraded: its health check failed) for
   * `failedForMs` (a missing optional engine, a port in use) will not recover by waiting, so the
   * demo says which and why.
   */
  async waitRunning(timeoutMs: number, signal: AbortSignal, failedForMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await this.components();
      const notRunning = list.filter((c) => c.state !== 'running');
      if (notRunning.length === 0) return;
      const stuck = notRunning.filter(
        (c) => (c.state === 'failed' || c.state === 'degraded') && c.since !== undefined && Date.now() - Date.parse(c.since) > failedForMs,
      );
      if (stuck.length > 0 || Date.now() > deadline) {
        throw new DemoError(`the pipeline did not start: ${describeComponents(stuck.length > 0 ? stuck : notRunning)}`, { details: this.problems() });
      }
      if (!(await sleep(250, signal))) throw new DemoError('interrupted');
    }
  }

  /** The last warnings and errors of the agent's log, for a failure report. */
  problems(max = 10): string[] {
    let text = '';
    try {
      text = fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    const lines: string[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const rec = JSON.parse(line) as { level?: number; msg?: string; component_id?: string };
        if ((rec.level ?? 0) >= 40) lines.push(`${rec.component_id ? `${rec.component_id}: ` : ''}${rec.msg ?? line}`);
      } catch {
        lines.push(line);
      }
    }
    return [...new Set(lines)].slice(-max).map((l) => `agent log: ${l}`);
  }

  async stop(): Promise<void> {
    await this.apiServer.close();
    try {
      await this.runtime.stop();
    } finally {
      this.logger.flush();
      await new Promise<void>((resolve) => this.logStream.end(() => resolve()));
    }
  }
}

/** `ch (clickhouse) failed: …; pg (postgres) starting` */
export function describeComponents(list: readonly ComponentView[]): string {
  return list.map((c) => `${c.id} (${c.type}) ${c.state}${c.error ? `: ${c.error}` : ''}`).join('; ');
}
