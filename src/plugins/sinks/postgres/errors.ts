import { defineErrorCodes } from '../../../index.js';

/**
 * The user-facing codes of the `postgres` sink (docs/errors.md is generated from them). Rejected
 * rows carry their code at the start of the reason stored in the dead-letter table.
 */
export const PG_SINK_ERRORS = defineErrorCodes({
  TC_PG_SINK_UNAVAILABLE: {
    title:
      'A write to PostgreSQL failed with a temporary error (connection lost or refused, timeout, server shutting down or out of resources, lock or serialization conflict); the batch stays queued and is retried.',
    hint: 'Check that the server is up and reachable from the agent. Nothing is lost: the queue grows (up to `buffer.max_bytes`) and delivery resumes by itself.',
  },
  TC_PG_SINK_SCHEMA: {
    title: 'PostgreSQL refused a write because of the schema or the role (missing table or column, permission denied); the batch stays queued and is retried.',
    hint: 'Run `thermocline migrate --pg <url>` (or set `migrate = true`) and grant the privileges the health check lists; delivery resumes by itself once the statement can succeed.',
  },
  TC_PG_SINK_NOT_MIGRATED: {
    title: 'The database lacks tables or migrations the postgres sink needs.',
    hint: 'Run `thermocline migrate --pg <url>` with a role that may create tables, or set `migrate = true` on the sink.',
  },
  TC_PG_SINK_PRIVILEGE: {
    title: 'The PostgreSQL role of the postgres sink lacks a privilege it needs.',
    hint: 'Run the GRANT statements quoted in the message as the owner of the tables. On plain PostgreSQL the role must also own the partitioned tables (or be a member of their owner) to create daily partitions.',
  },
  TC_PG_SINK_ROW_REJECTED: {
    title:
      'PostgreSQL rejected some rows with a data error (value out of range, invalid input, a value too large for an index); they were moved to the dead-letter table and the rest of the batch was written.',
    hint: 'The reason of each dead-lettered row holds PostgreSQL\'s message and SQLSTATE. Fix the producer of those values; `thermocline dead-letter --show ID` shows them with their rows.',
  },
  TC_PG_SINK_UNSUPPORTED_KIND: {
    title: 'The postgres sink received logs or spans, which it does not store; they were moved to the dead-letter table.',
    hint: 'The sink stores metrics and business events. Route logs and spans to a `clickhouse` sink with a `route` transform (`route.metrics = { kind = ["metric", "event"] }`).',
  },
  TC_PG_SINK_INVALID_VALUE: {
    title:
      'An event has a value the postgres sink cannot encode for its column (a timestamp that is not a finite number, a histogram count that is not a whole number); it was moved to the dead-letter table.',
    hint: 'The reason names the field and the value. Fix the producer, or a transform that builds these events.',
  },
  TC_PG_SINK_PARTITION_WINDOW: {
    title:
      'On plain PostgreSQL, a row is stamped outside the window for which the sink creates daily partitions (older than the retention, or further ahead than `max_future`); it was moved to the dead-letter table.',
    hint: 'Check the clock of the host that produced it. Raise `max_future` to accept rows further ahead, or `retention.*_days` to accept older ones; a row older than the retention would be dropped at once anyway.',
  },
  TC_PG_SINK_WRITE_FAILED: {
    title:
      'A write to PostgreSQL failed with an error the sink does not classify; the runtime retries it a few times (`retry.max_unclassified_attempts`) and then moves the batch to the dead-letter table.',
    hint: 'The message quotes the error. If it persists, report it with the SQLSTATE and the server log line.',
  },
  TC_PG_SINK_STOPPED: {
    title: 'The postgres sink was asked for its connection after it stopped.',
    hint: 'A component that shares the sink\'s connection (the rollup exporter) must declare it with `postgres = "<sink id>"` so that it stops before the sink; after a reload it picks up the new sink.',
  },
});

export type PgSinkCode = keyof typeof PG_SINK_ERRORS;

