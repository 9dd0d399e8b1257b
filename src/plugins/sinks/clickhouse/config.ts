import { z } from 'zod';

/** A table name in the url's database: ClickHouse's plain identifiers, so it never needs quoting. */
const tableName = () => z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain table name ([A-Za-z_][A-Za-z0-9_]*); the database comes from `url`');

export const clickhouseConfig = z.strictObject({
  url: z
    .string()
    .min(1)
    .describe(
      'Where to write. `http://user:password@host:8123/database` (or `https://`) for a ClickHouse server, or `chdb://<directory>` for the embedded engine, with a relative directory resolved against `data_dir` (add `?database=<name>` to use a database other than `default`). Write the password as `${CH_PASSWORD}` to keep it out of the file. Every `chdb://` url of one agent must name the same directory: the embedded engine binds one directory per process.',
    ),
  migrate: z
    .boolean()
    .default(true)
    .describe(
      'Create or upgrade the tables (`logs_events`, `spans`, `span_events`, `metrics_1m`) when the sink starts, as `thermocline migrate` does. Turn it off when a DBA owns the schema; the user then needs only INSERT on the tables.',
    ),
  cluster: z
    .union([z.literal(''), z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a cluster name of the server (a plain identifier)')])
    .optional()
    .describe(
      "A cluster of the server's `remote_servers`. With `migrate = true` the tables are created `ON CLUSTER` as `Replicated*MergeTree` tables `<table>_local` with `Distributed` tables under the usual names, which this sink and the rollup exporter write to (docs/storage.md#clusters). The servers must run inserts into Distributed tables synchronously (`distributed_foreground_insert = 1` in the user's profile) for deduplication to hold. Empty or unset: single-node tables.",
    ),
  tables: z
    .strictObject({
      log: tableName().default('logs_events').describe('The table that receives `log` events.'),
      span: tableName().default('spans').describe('The table that receives one row per `span` event.'),
      span_event: tableName()
        .default('span_events')
        .describe("The table that receives one row per event inside a span, carrying the span's `trace_id` and `span_id`."),
      metric: tableName()
        .optional()
        .describe(
          'The table that receives `metric` events, one row per point. Unset by default: metrics belong in PostgreSQL, and a metric that reaches this sink is rejected to the dead-letter table. The README gives the table to create.',
        ),
      event: tableName()
        .optional()
        .describe(
          'The table that receives business `event`s, all of them (except those whose typed table here has `generic: false`). Unset by default: they are rejected to the dead-letter table, or skipped with `typed_tables = "create"`. The README gives the table to create.',
        ),
    })
    .prefault({})
    .describe(
      'Which table each kind of event goes to, in the database of `url`. Custom tables need the columns the README lists; extra columns get their defaults.',
    ),
  compression: z
    .enum(['gzip', 'none'])
    .default('gzip')
    .describe(
      'Compression of insert request bodies sent to a ClickHouse server. `gzip` sends roughly a tenth of the bytes for typical logs at some CPU cost; `none` suits a server on the same host. Ignored for `chdb://`, which has no network.',
    ),
  insert_format: z
    .enum(['auto', 'json'])
    .default('auto')
    .describe(
      '`auto`: rows go as RowBinary, encoded straight from the queued batches in chunks of about 1 MiB: streamed to a ClickHouse server, and to `chdb://` through a spool file under `data_dir` that the engine reads with `file()`. Typed tables (`typed_tables`), tables with column types RowBinary is not written for, and `chdb://` with `insert_mode = "async"` get JSONCompactEachRow. `json`: JSONCompactEachRow everywhere, one body per table (README "Insert format").',
    ),
  insert_mode: z
    .enum(['sync', 'async'])
    .default('sync')
    .describe(
      "`sync`: each delivery is one ordinary INSERT per table. `async`: ClickHouse asynchronous inserts (`async_insert = 1`), buffered by the server and flushed together with other clients' inserts; the sink still waits until the data is written (`wait_for_async_insert = 1`) before it acknowledges. Deliveries are already large batches, so `async` mostly helps when many agents write small batches to one server. See the README for how it affects exactly-once delivery.",
    ),
  typed_tables: z
    .enum(['off', 'create'])
    .default('off')
    .describe(
      'Business events whose registered schema asks for ClickHouse (`x-thermocline` with a `table` and `store = "clickhouse"` or `"both"`) go to that table, created on first use with a column per top-level property and widened by later compatible versions (docs/events.md#clickhouse). With `create`, business events no typed table of this sink takes are skipped rather than dead-lettered, unless `tables.event` is set. Needs `registry`.',
    ),
  registry: z
    .string()
    .min(1)
    .optional()
    .describe('The id of a `postgres` sink of this config whose database holds the schema registry (`schema_registry`). Required with `typed_tables = "create"`.'),
});

export type ClickHouseConfig = z.output<typeof clickhouseConfig>;
export type TableMapping = ClickHouseConfig['tables'];
