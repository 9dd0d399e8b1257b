import { defineErrorCodes } from '../../../index.js';

/**
 * Error codes of the nats sink, and the connection codes the nats source shares with it (it reads
 * them through the public API, src/index.ts); docs/errors.md is generated from them
 * (docs/scaling.md explains the bus).
 */
export const NATS_ERRORS = defineErrorCodes({
  TC_NATS_UNREACHABLE: {
    title: 'No server of the NATS cluster answers.',
    hint: 'Check `servers` and that nats-server runs with JetStream (`-js`). A sink keeps its data queued and a source waits; both reconnect by themselves.',
  },
  TC_NATS_AUTH: {
    title: "The NATS server refused the agent's credentials.",
    hint: "Check `auth` (user/password, token or creds_file, usually from `${ENV}`) against the server's `authorization` block. The data stays queued until the server accepts them.",
  },
  TC_NATS_TLS: {
    title: 'The TLS files of a nats component cannot be read, or the TLS handshake failed.',
    hint: 'Check the paths and permissions of `tls.ca_file`, `tls.cert_file` and `tls.key_file`, and that the server has TLS enabled.',
  },
  TC_NATS_NO_JETSTREAM: {
    title: 'The NATS server does not have JetStream enabled, or the account has no JetStream.',
    hint: 'Start nats-server with `-js` (or `jetstream {}` in its config) and give the account JetStream limits.',
  },
  TC_NATS_STREAM_INCOMPATIBLE: {
    title: 'The JetStream stream exists with settings that differ from the configured ones.',
    hint: 'The message lists each differing setting. Change `stream` in the config to match, or edit the stream (`nats stream edit`); with `stream.mode = "verify"` the agent never changes a stream. The sink retries in the background.',
  },
  TC_NATS_STREAM_MISSING: {
    title: 'The JetStream stream does not exist and the component may not create it.',
    hint: 'Create the stream (a sink with `stream.mode = "create_or_verify"` does), or fix `stream.name`.',
  },
  TC_NATS_PUBLISH: {
    title: 'A publish to JetStream was not acknowledged (timeout, no stream for the subject, cluster without quorum).',
    hint: "The batch stays queued and is sent again with the same `Nats-Msg-Id`, so the stream's duplicate window drops a copy that did arrive. Check the stream's subjects and the cluster's health.",
  },
  TC_NATS_EVENT_TOO_LARGE: {
    title: "A single event is larger than the server's max_payload.",
    hint: "Batches are split to fit, but one event cannot be. Raise `max_payload` in nats-server's config, or shorten the field (log message, span attributes). The event was dead-lettered.",
  },
  TC_NATS_SUBJECT_UNBOUNDED: {
    title: 'A subject template uses a field without a bounded set of values.',
    hint: "Each `{field}` other than `{kind}` needs its allowed values in `subject_values.<field>`; values outside that list go to `_other`. This keeps the number of subjects (and the stream's index) bounded.",
  },
});
