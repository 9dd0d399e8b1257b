import { defineErrorCodes } from '../../../index.js';

export const OTLP_SINK_ERRORS = defineErrorCodes({
  TC_OTLP_SINK_AUTH: {
    title: 'The OTLP receiver refused the agent\'s credentials (401 or 403).',
    hint: 'Set `auth.bearer_token` (or `headers`) to what the receiver expects. The data stays queued and is sent once the receiver accepts it.',
  },
  TC_OTLP_SINK_REJECTED: {
    title: 'The OTLP receiver rejected a request as invalid (4xx).',
    hint: 'The batch was moved to the dead-letter table with the receiver\'s message; check that the receiver speaks OTLP/HTTP protobuf at the configured paths.',
  },
  TC_OTLP_SINK_TLS: {
    title: 'The `tls.ca_file` of an otlp_http sink cannot be read.',
    hint: 'Check the path and the permissions of the CA file.',
  },
});
