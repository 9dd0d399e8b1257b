import { defineErrorCodes } from '../../../index.js';

/** Codes the file source reports; `docs/errors.md` is generated from them. */
export const FILE_SOURCE_ERRORS = defineErrorCodes({
  TC_FILE_UNREADABLE: {
    title: 'A file matched by `include` cannot be opened or read.',
    hint: "Give the agent's user read permission on the file and execute permission on its directories. The source retries at every rescan (`glob_interval_secs`) and keeps reading the other files meanwhile.",
  },
  TC_FILE_CHECKPOINT: {
    title: "The file source's checkpoint from a previous run is not in a format this version understands.",
    hint: 'The source starts over as on a first run (`read_from` applies), which may re-read or skip lines once. This happens after a downgrade; report it if it happens otherwise.',
  },
  TC_FILE_VANISHED: {
    title: 'A file the source had not finished reading disappeared while the agent was stopped, or while the source had it closed to stay within `max_open_files`.',
    hint: 'Lines written to it after the logged offset were not read. Rotate with a scheme that keeps the previous file uncompressed for a while (logrotate `delaycompress`), in the same directory, so a restarted agent can finish it. When the log says the file was closed for `max_open_files`, raise that limit above the number of files written to at the same time.',
  },
});
