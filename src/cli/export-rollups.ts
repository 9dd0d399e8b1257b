import path from 'node:path';
import { parseArgs } from 'node:util';
import { QueueStore } from '../core/buffer/store.js';
import type { LoadedConfig } from '../core/config/load.js';
import { ThermoclineError, errorMessage } from '../core/errors.js';
import { createLogger } from '../core/runtime/logger.js';
import { MetricsRegistry } from '../core/telemetry/metrics.js';
import { compareRollups, type CaggExporterConfig, caggExporterConfig, isConnectionUrl, type PgEndpoint, resolveEndpoints, type ChunkProgress, type ExportReport, RollupExporter } from '../plugins/tasks/rollup_exporter/api.js';
import { DEFAULT_MIGRATION_PARAMS } from '../storage/params.js';
import type { Subcommand } from './commands.js';
import { EXIT_CONFIG, EXIT_FAILURE, loadOrExplain } from './config.js';
import { CAGG_ERRORS } from '../plugins/tasks/rollup_exporter/errors.js';

const USAGE = 'export-rollups --once [--from TIME --to TIME] [-c FILE [--component ID]] [--postgres URL] [--clickhouse URL] [--data-dir DIR] [--verify]';
const EXIT_USAGE = 64;
/** The component id whose state (watermark, versions) a run without a config uses. */
const DEFAULT_COMPONENT = 'export_rollups';

export interface ExportRollupsIo {
  /** Progress and results (stdout). */
  out(line: string): void;
  /** Problems (stderr). */
  err(line: string): void;
}

const consoleIo: ExportRollupsIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** ISO 8601 (`2024-05-01T00:00:00Z`) or Unix seconds. */
export function parseTime(value: string, flag: string): number {
  const ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  if (!Number.isFinite(ms)) throw new ThermoclineError(CAGG_ERRORS.TC_CAGG_RANGE_INVALID, `${flag} ${JSON.stringify(value)} is not a time: give ISO 8601 (2024-05-01T00:00:00Z) or Unix seconds`);
  return ms;
}

interface Plan {
  readonly component: string;
  readonly options: CaggExporterConfig;
  readonly postgres: string;
  readonly clickhouse: string;
  /** The refresh window of the named postgres sink, or the defaults. */
  readonly params: PgEndpoint['params'];
  readonly dataDir: string;
  readonly secrets: readonly string[];
}

/** The url of the sink `value` names in `config` (or `value` itself when it is a url). */
function sinkUrl(config: LoadedConfig | undefined, value: string, option: string): { url: string; options?: Readonly<Record<string, unknown>> } {
  if (isConnectionUrl(value)) return { url: value };
  const spec = config?.components.find((c) => c.id === value && c.kind === 'sink');
  const url = spec?.options.url;
  if (typeof url !== 'string') throw new ThermoclineError(CAGG_ERRORS.TC_CAGG_WRONG_SINK, `${option} = "${value}" names no sink with a url in this config; pass --${option} URL`);
  return { url, options: spec?.options };
}

function refreshParams(options: Readonly<Record<string, unknown>> | undefined): PgEndpoint['params'] {
  const rollup = options?.rollup as { start_offset_minutes?: number; end_offset_minutes?: number } | undefined;
  return {
    pg_cagg_start_offset_minutes: rollup?.start_offset_minutes ?? DEFAULT_MIGRATION_PARAMS.pg_cagg_start_offset_minutes,
    pg_cagg_end_offset_minutes: rollup?.end_offset_minutes ?? DEFAULT_MIGRATION_PARAMS.pg_cagg_end_offset_minutes,
  };
}

function plan(values: { component?: string; postgres?: string; clickhouse?: string; 'data-dir'?: string }, config: LoadedConfig | undefined): Plan {
  const exporters = config?.components.filter((c) => c.type === 'rollup_exporter') ?? [];
  let spec = exporters.find((c) => c.id === values.component);
  if (values.component !== undefined && !spec) {
    throw new ThermoclineError(CAGG_ERRORS.TC_CAGG_WRONG_SINK, `no rollup_exporter component "${values.component}" in ${config?.file ?? 'the config'}${exporters.length ? ` (there is ${exporters.map((c) => `"${c.id}"`).join(', ')})` : ''}`);
  }
  if (!spec && exporters.length > 1) throw new ThermoclineError(CAGG_ERRORS.TC_CAGG_WRONG_SINK, `several rollup_exporter components (${exporters.map((c) => c.id).join(', ')}): choose one with --component`);
  spec ??= exporters[0];
  const fromConfig = spec?.options as CaggExporterConfig | undefined;
  const postgresValue = values.postgres ?? fromConfig?.postgres;
  const clickhouseValue = values.clickhouse ?? fromConfig?.clickhouse;
  if (postgresValue === undefined || clickhouseValue === undefined) {
    throw new ThermoclineError(CAGG_ERRORS.TC_CAGG_WRONG_SINK, 'no rollup_exporter in the config: pass --postgres URL and --clickhouse URL (or -c FILE with a rollup_exporter component)');
  }
  const pgSink = sinkUrl(config, postgresValue, 'postgres');
  const chSink = sinkUrl(config, clickhouseValue, 'clickhouse');
  const options = fromConfig ?? caggExporterConfig.parse({ postgres: pgSink.url, clickhouse: chSink.url });
  return {
    component: spec?.id ?? DEFAULT_COMPONENT,
    options,
    postgres: pgSink.url,
    clickhouse: chSink.url,
    params: refreshParams(pgSink.options),
    dataDir: config?.dataDir ?? path.resolve(values['data-dir'] ?? 'data'),
    secrets: config?.secrets ?? [],
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

function progressLine(p: ChunkProgress): string {
  const eta = p.etaSecs === undefined ? '' : `, about ${Math.ceil(p.etaSecs)} s left`;
  return `${p.percent.toFixed(1).padStart(5)}%  ${iso(p.from)} .. ${iso(p.to)}  ${p.rows} rows (${p.totalRows} in all)${eta}`;
}

function summary(r: ExportReport): string {
  if (r.from === r.to) return 'nothing to export: no closed buckets in range';
  const rate = r.elapsedMs > 0 ? Math.round((r.rows * 1000) / r.elapsedMs) : r.rows;
  const refreshed = r.refreshed > 0 ? `, ${r.refreshed} rows refreshed from metrics_points first` : '';
  return `exported ${r.rows} rows in ${r.buckets} buckets (${r.chunks} inserts) from ${iso(r.from)} to ${iso(r.to)} in ${(r.elapsedMs / 1000).toFixed(1)} s, ${rate} rows/s${refreshed}`;
}

/** The command, with its output lines handed to `io` (tests collect them). */
export async function runExportRollups(args: string[], io: ExportRollupsIo = consoleIo): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        once: { type: 'boolean' },
        from: { type: 'string' },
        to: { type: 'string' },
        config: { type: 'string', short: 'c' },
        component: { type: 'string' },
        postgres: { type: 'string' },
        clickhouse: { type: 'string' },
        'data-dir': { type: 'string' },
        verify: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    io.err(`error: ${errorMessage(err)}\nusage: thermocline ${USAGE}`);
    return EXIT_USAGE;
  }
  if (!values.once) {
    io.err(`error: pass --once: the command runs one export cycle (or one range with --from/--to) and exits; the agent runs the exporter continuously\nusage: thermocline ${USAGE}`);
    return EXIT_USAGE;
  }
  if ((values.from === undefined) !== (values.to === undefined)) {
    io.err('error: --from and --to go together');
    return EXIT_USAGE;
  }
  let config: LoadedConfig | undefined;
  if (values.config) {
    config = await loadOrExplain(values.config);
    if (!config) return EXIT_CONFIG;
  }
  let store: QueueStore | undefined;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let release = async () => undefined as unknown;
  try {
    const range = values.from !== undefined && values.to !== undefined ? { from: parseTime(values.from, '--from'), to: parseTime(values.to, '--to') } : undefined;
    if (range && range.from >= range.to) throw new ThermoclineError(CAGG_ERRORS.TC_CAGG_RANGE_INVALID, `--from ${values.from} is not before --to ${values.to}`);
    const p = plan(values, config);
    const logger = createLogger({ level: 'warn', secrets: p.secrets, destination: process.stderr });
    const endpoints = resolveEndpoints({ postgres: p.postgres, clickhouse: p.clickhouse, dataDir: p.dataDir, logger, use: () => undefined, applicationName: 'thermocline export-rollups' });
    release = () => endpoints.release();
    const withParams = { ...endpoints, postgres: async () => ({ ...(await endpoints.postgres()), params: p.params }) };
    // The state database of the agent: the watermark and the versions it shares with the running exporter.
    store = QueueStore.open(p.dataDir);
    const s = store;
    const exporter = new RollupExporter({
      id: p.component,
      latenessMs: p.options.lateness,
      maxRowsPerCycle: p.options.max_rows_per_cycle,
      endpoints: withParams,
      state: { get: (k) => s.getState(p.component, k), set: (k, v) => s.setState(p.component, k, v), delete: (k) => s.deleteState(p.component, k) },
      logger,
      metrics: new MetricsRegistry({ processMetrics: false }).forComponent(p.component, 'task', 'rollup_exporter'),
      onChunk: (c) => io.out(progressLine(c)),
    });
    io.out(range ? `exporting metrics_1m from ${iso(range.from)} to ${iso(range.to)} (the watermark is not moved)` : `exporting metrics_1m: one cycle of "${p.component}" (watermark ${exporter.watermark() === undefined ? 'empty: backfilling everything' : iso(exporter.watermark() as number)})`);
    const report = range ? await exporter.exportRange(range.from, range.to, controller.signal) : await exporter.runCycle(controller.signal);
    io.out(summary(report));
    if (report.watermark !== undefined && !range) io.out(`watermark: ${iso(report.watermark)}`);
    if (values.verify && report.from !== report.to) {
      const result = await compareRollups(await withParams.postgres(), await endpoints.clickhouse(), report.from, report.to);
      if (result.differences > 0) {
        io.out(`verify: ${result.differences} of ${result.postgresRows} rows differ between PostgreSQL and ClickHouse FINAL, e.g.:`);
        for (const e of result.examples) io.out(`  ${e.key}: PostgreSQL ${JSON.stringify(e.postgres ?? null)} ClickHouse ${JSON.stringify(e.clickhouse ?? null)}`);
        return EXIT_FAILURE;
      }
      io.out(`verify: ClickHouse FINAL equals PostgreSQL (${result.postgresRows} rows)`);
    }
    return 0;
  } catch (err) {
    if (err instanceof ThermoclineError) {
      io.err(`error[${err.code}]: ${err.message}`);
      if (err.hint) io.err(`  hint: ${err.hint}`);
    } else {
      io.err(`error: ${errorMessage(err)}`);
    }
    return EXIT_FAILURE;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await release().catch(() => undefined);
    store?.close();
  }
}

/**
 * `thermocline export-rollups --once`: one cycle of the rollup exporter (cron users, and a first
 * backfill before the agent takes over), or with `--from/--to` one range exported again (repairs).
 */
export const exportRollupsCommand: Subcommand = {
  name: 'export-rollups',
  usage: USAGE,
  summary: 'copy metrics_1m from PostgreSQL to ClickHouse once: one cycle, or a range (--from/--to)',
  run: (args) => runExportRollups(args),
};
