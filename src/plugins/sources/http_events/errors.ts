import { defineErrorCodes } from '../../../index.js';

/** Error codes of the http_events source (docs/errors.md is generated from them). */
export const HTTP_EVENTS_ERRORS = defineErrorCodes({
  TC_EVENTS_LISTEN: {
    title: 'The http_events source cannot listen on its address.',
    hint: 'Another process uses the port, or the host is not an address of this machine: change `address` of the source. The source retries in the background.',
  },
  TC_EVENTS_DECODE_BUSY: {
    title: 'The http_events source was already parsing `max_concurrent_decode_bytes` of other requests; this one waited `decode_wait_secs` and got 503.',
    hint: 'Retry after `Retry-After`. If it happens often, producers send large requests in bursts: send smaller batches, or raise `max_concurrent_decode_bytes` if the agent has memory to spare (parsing takes several times the body size).',
  },
  TC_EVENTS_BAD_REQUEST: {
    title: 'An events request is not JSON or NDJSON the receiver can read, or has the wrong method, media type or encoding.',
    hint: 'POST a JSON object, a JSON array of objects (`Content-Type: application/json`) or one object per line (`application/x-ndjson`), optionally gzip-compressed (`Content-Encoding: gzip`).',
  },
});
