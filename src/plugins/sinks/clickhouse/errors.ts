import { defineErrorCodes } from '../../../index.js';

/**
 * Error codes of the clickhouse sink (docs/errors.md is generated from these). Connection and
 * chdb problems use the storage layer's codes (TC_CH_URL_INVALID, TC_CH_UNREACHABLE,
 * TC_CHDB_PATH_CONFLICT, TC_CHDB_MISSING).
 */
export const CLICKHOUSE_SINK_ERRORS = defineErrorCodes({
  TC_CH_NOT_WRITABLE: {
    title: 'ClickHouse refuses to write: the user is read-only, lacks a privilege, or cannot log in.',
    hint: "The data stays queued and is retried. Give the user of the url INSERT on the sink's tables (`GRANT INSERT ON <db>.logs_events TO <user>`, same for spans and span_events), remove `readonly` from its settings profile, or fix the password; for TABLE_IS_READ_ONLY (code 242) check the replica's connection to ClickHouse Keeper.",
  },
  TC_CH_SCHEMA_MISMATCH: {
    title: 'A table the ClickHouse sink writes to does not exist or lacks a column the sink fills.',
    hint: 'The data stays queued and is retried. Set `migrate = true` or run `thermocline migrate --clickhouse <url>`; for a custom table in `tables`, add the columns listed in the clickhouse sink README.',
  },
  TC_CH_INSERT_FAILED: {
    title: 'ClickHouse failed an insert with an error the sink does not recognise.',
    hint: "The message carries ClickHouse's code and text. The batch is retried `retry.max_unclassified_attempts` times, then moved to the dead-letter table; please report the code so that it can be classified.",
  },
});

