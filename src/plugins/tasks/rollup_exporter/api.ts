/**
 * What the rollup exporter offers tools outside the agent: `thermocline export-rollups` and the
 * demo run one export cycle, or compare both sides, with the same code the task runs.
 */
export { compareRollups } from './compare.js';
export { type CaggExporterConfig, caggExporterConfig, isConnectionUrl } from './config.js';
export { type ChEndpoint, type PgEndpoint, resolveEndpoints } from './endpoints.js';
export { type ChunkProgress, type ExportReport, RollupExporter } from './exporter.js';
