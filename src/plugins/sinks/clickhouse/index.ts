import { defineSink, errorMessage, type PluginIssue, PostgresConnection } from '../../../index.js';
import { ClickHouseConnection } from './api.js';
import { parseClickHouseUrl } from '../../../storage/index.js';
import { clickhouseConfig } from './config.js';
import { CLICKHOUSE_SINK_ERRORS } from './errors.js';
import { createClickHouseSink } from './sink.js';
import { mappedTables } from './tables.js';

/** Logs, traces and typed business event tables into ClickHouse in large batches, exactly once (README.md). */
export default defineSink({
  type: 'clickhouse',
  provides: [ClickHouseConnection],
  summary: 'Writes logs to logs_events, spans to spans and span_events, and business events to their typed tables in ClickHouse (a server or the embedded engine), exactly once.',
  errors: CLICKHOUSE_SINK_ERRORS,
  config: clickhouseConfig,
  example: { url: 'chdb://clickhouse' },
  // Every INSERT makes a part per table and partition, which ClickHouse merges later: it advises
  // 10k–100k rows per insert and about one insert per second (TOO_MANY_PARTS otherwise), hence
  // 100k events and a 1 s wait for a fuller batch at low rates. 100k rows also stay far below the
  // one-block limit (min_insert_block_size_rows ≈ 1M) that keeps each insert all-or-nothing; bodies
  // past 64 MiB are cut into several inserts anyway (isolate.ts). bench/clickhouse-sink.ts compares
  // 10k, 50k and 100k.
  batch: { max_events: 100_000, max_bytes: 32 * 1024 * 1024, timeout_secs: 1 },
  validate(config) {
    const issues: PluginIssue[] = [];
    try {
      // No I/O: the data_dir only resolves a relative chdb directory.
      parseClickHouseUrl(config.url, '/');
    } catch (err) {
      issues.push({ path: ['url'], message: errorMessage(err) });
    }
    // One token per table and delivery: two kinds in one table would make the second insert a duplicate.
    const seen = new Map<string, string>();
    for (const [role, table] of mappedTables(config.tables)) {
      const other = seen.get(table);
      if (other !== undefined) issues.push({ path: ['tables', role], message: `"${table}" already receives ${other} events: each kind needs its own table` });
      else seen.set(table, role);
    }
    if (config.typed_tables === 'create' && config.registry === undefined) {
      issues.push({ path: ['registry'], message: 'typed_tables = "create" reads the schemas from the registry: set registry = "<postgres sink id>"' });
    }
    return issues;
  },
  // The registry's database is the postgres sink's: it starts first and lends its pool.
  uses: (config) => (config.registry === undefined ? [] : [{ key: PostgresConnection, from: config.registry }]),
  create: (config, ctx) => createClickHouseSink(config, ctx),
});
