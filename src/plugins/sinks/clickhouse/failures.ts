/**
 * Turns anything a write or a health check throws into the error the runtime acts on
 * (docs/plugins.md#sinks): `RetryableError` keeps the batch queued; a plain ThermoclineError is
 * "unclassified" (a few attempts, then dead-letter). Nothing here is a PermanentError: bad rows
 * are isolated instead (isolate.ts), and every failure that is not about the rows may go away.
 */
import { RetryableError, ThermoclineError } from '../../../index.js';
import { type Failure, classify, describeCode } from './classify.js';
import { InsertFailure } from './isolate.js';
import { CLICKHOUSE_SINK_ERRORS } from './errors.js';

function fromFailure(f: Failure, what: string, cause: unknown): ThermoclineError {
  const detail = `${what} failed (${describeCode(f)}): ${f.message}`;
  switch (f.kind) {
    case 'not_writable':
      return new RetryableError(`ClickHouse refuses to write: ${detail}`, { code: CLICKHOUSE_SINK_ERRORS.TC_CH_NOT_WRITABLE, cause });
    case 'schema':
      return new RetryableError(`the table is missing or lacks a column: ${detail}`, { code: CLICKHOUSE_SINK_ERRORS.TC_CH_SCHEMA_MISMATCH, cause });
    case 'transient':
    case 'rows':
      return new RetryableError(detail, { cause });
    case 'unknown':
      return new ThermoclineError(CLICKHOUSE_SINK_ERRORS.TC_CH_INSERT_FAILED, detail, { cause });
  }
}

/** `what` names the operation, e.g. "INSERT into db.spans". */
export function toSinkError(err: unknown, what: string): ThermoclineError {
  if (err instanceof InsertFailure) return fromFailure(err.failure, what, err.cause ?? err);
  if (err instanceof RetryableError) return err;
  // Storage errors (TC_CH_UNREACHABLE, TC_CHDB_MISSING…) and ours (TC_CH_SCHEMA_MISMATCH from a
  // missing column): the data stays queued under the same code, so the log shows its hint.
  if (err instanceof ThermoclineError) return new RetryableError(err.message, { code: err.code, cause: err });
  return fromFailure(classify(err), what, err);
}

/** Codes an operator has to act on: logged as errors with their hint. */
export function needsOperator(err: ThermoclineError): boolean {
  return err.code === CLICKHOUSE_SINK_ERRORS.TC_CH_NOT_WRITABLE || err.code === CLICKHOUSE_SINK_ERRORS.TC_CH_SCHEMA_MISMATCH || err.code === CLICKHOUSE_SINK_ERRORS.TC_CH_INSERT_FAILED;
}
