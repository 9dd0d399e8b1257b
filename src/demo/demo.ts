/**
 * `thermocline demo` (`npm run demo`): runs the default pipeline in this process on a
 * scratch directory, sends a burst of real OTLP traces, logs and metrics with the OpenTelemetry JS
 * SDK plus an application's own JSON log lines, and prints what landed where: rows per table, one
 * trace joined with its logs on trace_id in ClickHouse, and the 1-minute rollup in both stores.
 * The agent started by `npm start` is never touched: other ports, another data directory.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, ThermoclineError, errorMessage, formatIssue } from '../core/errors.js';
import { DEMO_USAGE } from '../cli/commands.js';
import { DemoAgent, type Targets, checkEmbeddedReachable, demoEnv, loadDemoConfig } from './agent.js';
import { CHECKOUT_TABLE, CHECKOUT_TYPE, type SentEvents, sendBusinessEvents } from './business-events.js';
import { type Burst, DURATION_METRIC, ORDERS_METRIC, SERVICE, sendCheckoutBurst } from './checkout.js';
import { DemoError } from './errors.js';
import { plural, seconds } from './format.js';
import { GAUGE_METRIC, oldGaugePoints, postMetrics } from './gauges.js';
import { waitLanded } from './landing.js';
import { type Otel, loadOtel } from './otel.js';
import { renderBusinessEvents, renderCounts, renderNext, renderRollups, renderTrace } from './report.js';
import { exportRollupsOnce } from './rollup.js';
import { displayPath, prepareScratch } from './scratch.js';
import { Stores } from './stores.js';

const USAGE = DEMO_USAGE;
const HELP = `usage: thermocline ${USAGE}

Runs the default pipeline (config/thermocline.toml) in this process, in a scratch directory, on
free loopback ports, sends a burst of OTLP traces, logs and metrics with the OpenTelemetry JS SDK
plus JSON log lines carrying the same trace ids, and prints what landed where in PostgreSQL and
ClickHouse. An agent started with \`npm start\` is not touched.

  -c, --config FILE   the pipeline to run (default: config/thermocline.toml of this package); it must
                      read THERMOCLINE_DATA_DIR, _LOG_DIR, _API_ADDRESS, _OTLP_ADDRESS as that one does
  --data-dir DIR      the scratch directory (default ./data-demo): cleared at start, kept afterwards
  --traces N          how many checkout requests to send (default 20)
  -h, --help          this text`;
const EXIT_USAGE = 64;
const EXIT_INTERRUPTED = 130;
/** The first start creates the PostgreSQL cluster and both schemas: seconds, more on a busy machine. */
const STARTUP_TIMEOUT_MS = 300_000;
const LANDING_TIMEOUT_MS = 180_000;
const ROLLUP_ROWS_SHOWN = 4;

export const DEFAULT_CONFIG = fileURLToPath(new URL('../../config/thermocline.toml', import.meta.url));

export interface DemoIo {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: DemoIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** How the user runs this CLI, for the hints: `node dist/cli.js`, `npx tsx src/cli.ts`, or `thermocline`. */
function selfCommand(): string {
  const script = process.argv[1] ?? '';
  const rel = path.relative(process.cwd(), script);
  if (/(^|\/)cli\.js$/.test(script)) return `node ${rel.startsWith('..') ? script : rel}`;
  if (/(^|\/)cli\.ts$/.test(script)) return `npx tsx ${rel.startsWith('..') ? script : rel}`;
  return 'thermocline';
}

function printFailure(io: DemoIo, err: unknown): void {
  if (err instanceof ConfigError) {
    io.err(`error[${err.code}]: invalid configuration${err.file ? ` in ${err.file}` : ''}`);
    for (const issue of err.issues) io.err(`  - ${formatIssue(issue, err.file)}`);
  } else if (err instanceof ThermoclineError) {
    io.err(`error[${err.code}]: ${err.message}`);
    if (err.hint) io.err(`  hint: ${err.hint}`);
  } else {
    io.err(`error: ${errorMessage(err)}`);
    for (const d of err instanceof DemoError ? err.details : []) io.err(`  ${d}`);
  }
}

interface Options {
  config: string;
  dataDir: string;
  traces: number;
  landingTimeoutMs: number;
}

/** How long the demo waits; tests shorten them. */
export interface DemoLimits {
  /** From the end of the burst until everything must have landed (default 180 s). */
  landingTimeoutMs?: number;
}

/** The burst: the SDK's traces, logs and metrics, the log file lines, the old gauge points, the business events. */
async function send(otel: Otel, targets: Targets, traces: number, io: DemoIo, signal: AbortSignal): Promise<{ burst: Burst; gauges: number; business: SentEvents | undefined }> {
  io.out(`▸ sending ${plural(traces, 'checkout request')} of a "${SERVICE}" service instrumented with the OpenTelemetry JS SDK`);
  const burst = await sendCheckoutBurst(otel, { otlp: targets.otlp, traces, logFile: targets.logFile });
  const declined = burst.traces.filter((t) => t.declined).length;
  io.out(
    `  traces: ${plural(burst.spans, 'span')} with ${plural(burst.spanEvents, 'span event')}, ${declined} of the requests ending in ERROR (card declined)`,
  );
  io.out(
    `  logs:   ${plural(burst.sdkLogs, 'log record')} emitted inside the spans; metrics: a counter (${ORDERS_METRIC}) and a histogram (${DURATION_METRIC})`,
  );
  io.out(
    targets.logFile
      ? `  file:   ${plural(burst.fileLines, 'JSON line')} appended to ${displayPath(targets.logFile)}, the application's own log, with the same trace ids`
      : "  file:   no json file source reading <dir>/*.log inside the demo's directory in this config: no log lines written",
  );
  const gauges = oldGaugePoints();
  await postMetrics(targets.otlp, gauges, signal);
  io.out(`  gauge:  ${plural(gauges.length, 'point')} of ${GAUGE_METRIC} 2 to 4 minutes old (OTLP made by hand: an SDK stamps points with the current time)`);
  let business: SentEvents | undefined;
  if (targets.events) {
    business = await sendBusinessEvents(targets.events, signal);
    io.out(
      `  events: a deploy, an incident and a ${CHECKOUT_TYPE} (schema in config/schemas) posted to ${targets.events}/v1/events, and one ${CHECKOUT_TYPE} that breaks its schema (refused, 422)`,
    );
  } else {
    io.out('  events: no http_events source in this config: no business events sent');
  }
  return { burst, gauges: gauges.length, business };
}

/** Rows per table, one trace with its logs, the rollup in both stores, what to try next. */
async function report(
  s: Stores,
  sent: { burst: Burst; business: SentEvents | undefined; sinceMs: number },
  targets: Targets,
  dirs: { dir: string; agentLog: string },
  io: DemoIo,
  problems: () => string[],
): Promise<void> {
  const { burst, business } = sent;
  io.out('');
  io.out('What landed where (rows per table)');
  for (const l of renderCounts(await s.counts(), { pg: s.pgWhere, ch: s.chWhere })) io.out(l);

  if (business) {
    io.out('');
    io.out(`Business events, validated against the schema registry in PostgreSQL`);
    for (const l of renderBusinessEvents(await s.businessEvents(sent.sinceMs), business.refused, CHECKOUT_TABLE)) io.out(l);
  }

  // A declined request: its trace has an error, an exception event, and lines from both log sources.
  const shown = burst.traces.find((t) => t.declined) ?? burst.traces[0];
  if (shown) {
    const trace = await s.trace(shown.traceId, targets.pathLabel);
    const logs = trace.entries.filter((e) => e.type === 'log');
    const fromFile = logs.filter((e) => e.file !== '').length;
    const events = trace.entries.length - logs.length;
    io.out('');
    io.out('A trace and its logs, joined on trace_id in ClickHouse');
    io.out(
      `  trace ${shown.traceId}: ${plural(trace.spans.length, 'span')}, ${plural(events, 'span event')}, ${plural(logs.length, 'log')} (otlp: ${logs.length - fromFile} from the SDK; file: ${fromFile} from ${targets.logFile ? displayPath(targets.logFile) : 'log files'})`,
    );
    io.out('');
    for (const l of renderTrace(trace.spans, trace.entries)) io.out(l);
  }

  const rollups = await s.rollups(GAUGE_METRIC);
  io.out('');
  io.out(`The 1-minute rollup metrics_1m of ${GAUGE_METRIC}, in both stores`);
  for (const l of renderRollups(rollups.pg, rollups.ch, ROLLUP_ROWS_SHOWN).lines) io.out(l);
  if (!targets.exporter) io.out('  (no rollup_exporter in this config: nothing copies metrics_1m to ClickHouse)');
  if (rollups.pg.size === 0 || (targets.exporter && rollups.ch.size === 0)) {
    throw new DemoError(`metrics_1m of ${GAUGE_METRIC} has ${rollups.pg.size} rows in PostgreSQL and ${rollups.ch.size} in ClickHouse after an export cycle`, {
      details: problems(),
    });
  }

  io.out('');
  io.out('What to try next');
  const traceSql = shown ? s.traceSql(shown.traceId).logs : undefined;
  for (const l of renderNext({
    cli: selfCommand(),
    traceSql,
    rollupSql: s.rollupSql(GAUGE_METRIC),
    dir: displayPath(dirs.dir),
    agentLog: displayPath(dirs.agentLog),
  }))
    io.out(l);
}

async function demo(o: Options, io: DemoIo, signal: AbortSignal): Promise<void> {
  const configShown = path.resolve(o.config) === DEFAULT_CONFIG ? 'the default pipeline' : displayPath(path.resolve(o.config));
  io.out(`thermocline demo: running ${configShown} in-process in ${displayPath(path.resolve(o.dataDir))} (your \`npm start\` agent, if any, is not touched)`);
  const otel = await loadOtel();
  const scratch = prepareScratch(o.dataDir);
  const { config, targets } = await loadDemoConfig(o.config, await demoEnv(scratch), scratch);
  await checkEmbeddedReachable(targets, scratch.dir);

  io.out('');
  io.out(`▸ starting the pipeline of ${displayPath(path.resolve(o.config))} (the first start of the embedded PostgreSQL and ClickHouse takes a while)`);
  const started = Date.now();
  const agent = await DemoAgent.start(config, scratch.agentLog);
  let stores: Stores | undefined;
  try {
    await agent.waitRunning(STARTUP_TIMEOUT_MS, signal);
    stores = await Stores.open(targets.postgresUrl, targets.clickhouseUrl, config.dataDir);
    const s = stores;
    io.out(`  running after ${seconds(Date.now() - started)}: ${plural(config.components.length, 'component')}, API ${agent.api}, OTLP/HTTP ${targets.otlp}`);

    const sent = Date.now();
    const { burst, gauges, business } = await send(otel, targets, o.traces, io, signal);

    const scrape = targets.selfScrape;
    io.out(
      `▸ waiting until all of it is in PostgreSQL and ClickHouse${scrape ? `, with a scrape of the agent's own /metrics by "${scrape.id}" (every ${seconds(scrape.options.interval as number)})` : ''}`,
    );
    const expected = { gaugeMetric: GAUGE_METRIC, gauges, sinceMs: sent, pathLabel: targets.pathLabel, selfScrape: scrape !== undefined };
    const businessLandings = async () => {
      if (business === undefined) return [];
      const found = await s.businessEvents(sent);
      return [
        { what: 'business events in PostgreSQL events_generic', have: found.generic.length, want: business.ids.length },
        { what: `${CHECKOUT_TYPE} events in PostgreSQL ${CHECKOUT_TABLE}`, have: found.typed.length, want: business.typed },
      ];
    };
    await waitLanded(agent, async () => [...(await s.landings(burst, expected)), ...(await businessLandings())], o.landingTimeoutMs, signal);
    io.out(`  landed after ${seconds(Date.now() - sent)}`);

    if (targets.exporter) {
      io.out(`▸ one cycle of the rollup exporter "${targets.exporter.id}": closed 1-minute buckets of metrics_1m, PostgreSQL → ClickHouse`);
      const r = await exportRollupsOnce({ config, exporter: targets.exporter, store: agent.runtime.store, logger: agent.runtime.logger, signal });
      io.out(
        `  ${r.from === r.to ? 'no closed buckets to export' : `${plural(r.rows, 'row')} in ${plural(r.buckets, 'bucket')} exported (${plural(r.refreshed, 'row')} refreshed from metrics_points first)`}`,
      );
    }
    await report(s, { burst, business, sinceMs: sent }, targets, scratch, io, () => agent.problems());
  } finally {
    await stores?.release().catch(() => undefined);
    await agent.stop();
  }
}

/** The command, with its output handed to `io` (the e2e test collects it). */
export async function runDemo(args: string[], io: DemoIo = consoleIo, limits: DemoLimits = {}): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        'data-dir': { type: 'string' },
        traces: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    io.err(`error: ${errorMessage(err)}\nusage: thermocline ${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const traces = values.traces === undefined ? 20 : Number(values.traces);
  if (!Number.isInteger(traces) || traces < 1 || traces > 10_000) {
    io.err(`error: --traces ${values.traces} is not a whole number from 1 to 10000\nusage: thermocline ${USAGE}`);
    return EXIT_USAGE;
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const options = {
      config: values.config ?? DEFAULT_CONFIG,
      dataDir: values['data-dir'] ?? 'data-demo',
      traces,
      landingTimeoutMs: limits.landingTimeoutMs ?? LANDING_TIMEOUT_MS,
    };
    await demo(options, io, controller.signal);
    return 0;
  } catch (err) {
    if (controller.signal.aborted) {
      io.err('interrupted: the agent was stopped');
      return EXIT_INTERRUPTED;
    }
    printFailure(io, err);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * The `demo` command's body. src/cli/commands.ts loads this module with a dynamic `import()`, so
 * the demo and what it needs stay out of the agent's import graph.
 */
export async function demoMain(args: string[]): Promise<number> {
  // `npm run demo | head`: once the reader has gone, carry on without printing, so that the agent
  // and its embedded engines still stop cleanly (an unhandled EPIPE would end the process at once).
  let closed = false;
  const onError = () => void (closed = true);
  process.stdout.on('error', onError);
  try {
    return await runDemo(args, { out: (l) => closed || console.log(l), err: (l) => console.error(l) });
  } finally {
    process.stdout.off('error', onError);
  }
}
