import { defineErrorCodes } from '../../../index.js';

/** Error codes of the otlp_http source (docs/errors.md is generated from these). */
export const OTLP_SOURCE_ERRORS = defineErrorCodes({
  TC_OTLP_LISTEN: {
    title: 'The OTLP/HTTP source cannot listen on its address.',
    hint: 'Another process (often an OpenTelemetry Collector) already uses the port, or the host is not an address of this machine: change `address` of the source. The source retries in the background.',
  },
  TC_OTLP_TOO_MANY_ITEMS: {
    title: 'An OTLP request carried more spans, log records or data points than `max_items_per_request`; it was refused with 413.',
    hint: 'Export smaller batches: lower the SDK\'s `maxExportBatchSize` or the Collector batch processor\'s `send_batch_max_size` below the limit, or raise `max_items_per_request` of the source if the agent has the memory for it.',
  },
  TC_OTLP_DECODE_BUSY: {
    title: 'The OTLP receiver was already decoding `max_concurrent_decode_bytes` of other requests; this one waited `decode_wait_secs` and got 503.',
    hint: 'Exporters retry after `Retry-After`. If it happens often, clients send large requests in bursts: export smaller batches, or raise `max_concurrent_decode_bytes` if the agent has memory to spare (decoding takes several times the body size).',
  },
  TC_OTLP_TLS: {
    title: 'The TLS certificate or key of the OTLP/HTTP source cannot be loaded.',
    hint: 'Check that `tls.cert_file` and `tls.key_file` exist, are readable by the agent, hold PEM data, and that the key belongs to the certificate.',
  },
});
