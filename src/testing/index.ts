/**
 * `thermocline/testing`: what a plugin's tests need, the same helpers the built-in plugins' tests
 * use. The agent never imports this module (it is a separate entry point of the package), so
 * test-only dependencies stay out of it: `tap` and `testcontainers` are loaded only when an
 * engine helper needs them. docs/plugins.md#testing-a-plugin shows how to use it.
 */
export { standaloneContext } from './context.js';
export { LogCapture, eventually, loadTestConfig, startPipeline, tempDir, type TestContext } from './pipeline.js';
export { logs, manualSource, manualSources } from './manual-source.js';
export { failures, memoryRecorder, received, recorded } from './memory-sink.js';
export { splitTransform, tagTransform, testTransforms, throwingTransform } from './test-transforms.js';
export { childEnv, exited, freePorts, packageRoot, runCli, spawnAgent, stoppedGracefully } from './agent-process.js';
export { withPostgres, type PostgresMode, type TestPostgres } from './postgres.js';
export { withClickHouse, type ClickHouseMode, type TestClickHouse } from './clickhouse.js';
export { timescaleDbMissing, withTimescaleDb, type TestTimescaleDb } from './timescaledb.js';
export { createNatsStream, natsServerBinary, natsServerMissing, startNats, startNatsCluster, type NatsNode } from './nats.js';
export {
  exampleOptions,
  exampleProblems,
  lifecycleProblems,
  readmeProblems,
  runConformance,
  schemaProblems,
  uncataloguedErrorCodes,
  type ConformanceCheck,
  type ConformanceOptions,
} from './conformance.js';
export { optionsTable, withOptionsTable } from './options-table.js';
// Reading what a queue or the dead-letter table holds (`data` of a dead letter).
export { decodeBatch } from '../core/codec/batch.js';
export { checkSlowClients, getStatus, metricValue, stall, type HeldConnection, type Stall } from './slow-clients.js';
