import { defineErrorCodes } from '../../../index.js';

/**
 * Error codes of the nats source (docs/errors.md is generated from them). Connection, credential
 * and stream problems use the codes it shares with the nats sink (`NATS_ERRORS`).
 */
export const NATS_SOURCE_ERRORS = defineErrorCodes({
  TC_NATS_BAD_MESSAGE: {
    title: 'A message on the stream is not in a format the nats source reads.',
    hint: 'It was moved to the dead-letter table, with its stream sequence and subject in the reason and its raw body in the entry, and acknowledged. `thermocline dead-letter -c <config>` shows it; only `tc-batch/1` messages (the nats sink\'s default `format = "batch"`) become events.',
  },
  TC_NATS_CONSUMER: {
    title: 'The durable JetStream consumer cannot be created or read.',
    hint: "Check the stream name and the account's permissions for `$JS.API.CONSUMER.*`. An existing consumer with another `filter_subject` or a push consumer of the same name must be removed first.",
  },
});
