import protobuf from 'protobufjs/minimal.js';
import { RetryableError, PermanentError } from '../../../index.js';
import { OTLP_SINK_ERRORS } from './errors.js';

/**
 * What an OTLP/HTTP answer means for the delivery (OTLP specification, "OTLP/HTTP Response"):
 * 429, 502, 503 and 504 are retryable and may carry `Retry-After`; other 4xx are permanent, except
 * 401/403, which mean the agent is misconfigured, not the data bad — those stay queued; other 5xx
 * are retryable.
 */

/** `Retry-After` as seconds or an HTTP date, in milliseconds; undefined when absent or invalid. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The message of a `google.rpc.Status` body (`message = 2`), or the text of a non-protobuf body. */
export function statusMessage(body: Buffer, contentType: string | undefined): string {
  if (body.length === 0) return '';
  if (contentType?.includes('protobuf')) {
    try {
      const r = protobuf.Reader.create(body);
      while (r.pos < r.len) {
        const tag = r.uint32();
        if (tag === ((2 << 3) | 2)) return r.string();
        r.skipType(tag & 7);
      }
    } catch {
      // not a Status after all: fall through to the text
    }
  }
  return body.toString('utf8', 0, Math.min(body.length, 500)).replace(/\s+/g, ' ').trim();
}

/** `Export*ServiceResponse { partial_success = 1 { rejected_<items> = 1; error_message = 2 } }`. */
export function partialSuccess(body: Buffer): { rejected: number; message: string } | undefined {
  if (body.length === 0) return undefined;
  try {
    const r = protobuf.Reader.create(body);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag !== ((1 << 3) | 2)) {
        r.skipType(tag & 7);
        continue;
      }
      const end = r.uint32() + r.pos;
      let rejected = 0;
      let message = '';
      while (r.pos < end) {
        const t = r.uint32();
        if (t === (1 << 3)) rejected = Number(r.int64().toString());
        else if (t === ((2 << 3) | 2)) message = r.string();
        else r.skipType(t & 7);
      }
      return rejected > 0 || message !== '' ? { rejected, message } : undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function classify(status: number, message: string, retryAfter: number | undefined, url: string): Error {
  const what = `${url} answered ${status}${message ? `: ${message}` : ''}`;
  if (status === 429 || status === 502 || status === 503 || status === 504) return new RetryableError(what, { retryAfterMs: retryAfter });
  if (status === 401 || status === 403) {
    return new RetryableError(`${what} (check auth.bearer_token and headers; the data stays queued)`, { code: OTLP_SINK_ERRORS.TC_OTLP_SINK_AUTH });
  }
  if (status >= 400 && status < 500) return new PermanentError(what, { code: OTLP_SINK_ERRORS.TC_OTLP_SINK_REJECTED });
  return new RetryableError(what);
}
