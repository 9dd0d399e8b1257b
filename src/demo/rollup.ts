/**
 * One cycle of the config's rollup exporter, run now rather than at its next interval: the same
 * code, the same watermark and versions in the agent's state database (as `thermocline
 * export-rollups --once` uses them), on connections to the same engines. A cycle the agent's own
 * exporter runs meanwhile is harmless: the newest version of a row wins in ClickHouse.
 */
import type { Logger } from 'pino';
import type { QueueStore } from '../core/buffer/store.js';
import type { ComponentSpec, LoadedConfig } from '../core/config/load.js';
import { type CaggExporterConfig, isConnectionUrl, type PgEndpoint, resolveEndpoints, type ExportReport, RollupExporter } from '../plugins/tasks/rollup_exporter/api.js';
import { DEFAULT_MIGRATION_PARAMS } from '../storage/params.js';

/** The url of the sink a rollup_exporter option names (or the option itself when it is a url). */
function sinkOf(config: LoadedConfig, value: string): ComponentSpec | string {
  if (isConnectionUrl(value)) return value;
  const spec = config.components.find((c) => c.id === value && c.kind === 'sink');
  if (!spec) throw new Error(`the rollup_exporter names "${value}", which is no sink of this config`);
  return spec;
}

function refreshParams(sink: ComponentSpec | string): PgEndpoint['params'] {
  const rollup = typeof sink === 'string' ? undefined : (sink.options.rollup as { start_offset_minutes?: number; end_offset_minutes?: number } | undefined);
  return {
    pg_cagg_start_offset_minutes: rollup?.start_offset_minutes ?? DEFAULT_MIGRATION_PARAMS.pg_cagg_start_offset_minutes,
    pg_cagg_end_offset_minutes: rollup?.end_offset_minutes ?? DEFAULT_MIGRATION_PARAMS.pg_cagg_end_offset_minutes,
  };
}

export async function exportRollupsOnce(o: {
  config: LoadedConfig;
  exporter: ComponentSpec;
  store: QueueStore;
  logger: Logger;
  signal: AbortSignal;
}): Promise<ExportReport> {
  const options = o.exporter.options as CaggExporterConfig;
  const pgSink = sinkOf(o.config, options.postgres);
  const chSink = sinkOf(o.config, options.clickhouse);
  const url = (s: ComponentSpec | string) => (typeof s === 'string' ? s : (s.options.url as string));
  const endpoints = resolveEndpoints({
    postgres: url(pgSink),
    clickhouse: url(chSink),
    dataDir: o.config.dataDir,
    logger: o.logger,
    use: () => undefined,
    applicationName: 'thermocline demo',
  });
  const params = refreshParams(pgSink);
  const id = o.exporter.id;
  const exporter = new RollupExporter({
    id,
    latenessMs: options.lateness,
    maxRowsPerCycle: options.max_rows_per_cycle,
    endpoints: { ...endpoints, postgres: async () => ({ ...(await endpoints.postgres()), params }) },
    state: { get: (k) => o.store.getState(id, k), set: (k, v) => o.store.setState(id, k, v), delete: (k) => o.store.deleteState(id, k) },
    logger: o.logger,
  });
  try {
    return await exporter.runCycle(o.signal);
  } finally {
    await endpoints.release();
  }
}
