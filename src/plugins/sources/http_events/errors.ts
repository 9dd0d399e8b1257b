import { defineErrorCodes } from '../../../index.js';

/** Error codes of the http_events source (docs/errors.md is generated from them). */
export const HTTP_EVENTS_ERRORS = defineErrorCodes({
  TC_EVENTS_LISTEN: {
    title: 'The http_events source cannot listen on its address.',
    hint: 'Another process uses the port, or the host is not an address of this machine: change `address` of the source. The source retries in the background.',
  },
  TC_EVENTS_BAD_REQUEST: {
    title: 'An events request is not JSON or NDJSON the receiver can read, or has the wrong method, media type or encoding.',
    hint: 'POST a JSON object, a JSON array of objects (`Content-Type: application/json`) or one object per line (`application/x-ndjson`), optionally gzip-compressed (`Content-Encoding: gzip`).',
  },
});
