import { defineErrorCodes } from '../../../index.js';

/** Error codes of the otlp_http source (docs/errors.md is generated from these). */
export const OTLP_SOURCE_ERRORS = defineErrorCodes({
  TC_OTLP_LISTEN: {
    title: 'The OTLP/HTTP source cannot listen on its address.',
    hint: 'Another process (often an OpenTelemetry Collector) already uses the port, or the host is not an address of this machine: change `address` of the source. The source retries in the background.',
  },
  TC_OTLP_TLS: {
    title: 'The TLS certificate or key of the OTLP/HTTP source cannot be loaded.',
    hint: 'Check that `tls.cert_file` and `tls.key_file` exist, are readable by the agent, hold PEM data, and that the key belongs to the certificate.',
  },
});
