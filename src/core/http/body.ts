import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';

/**
 * Request bodies of the HTTP receivers (OTLP/HTTP, events): bounded reads, gzip and deflate, and
 * refusals that let the client read the answer. A receiver maps `HttpError` to its own reply format.
 */

/** A request a receiver refuses, with its HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Answer with `Connection: close` (the rest of the body is not read). */
    readonly close = false,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export type ContentCoding = 'identity' | 'gzip' | 'deflate';

/** The request's `Content-Encoding`, or undefined when we cannot decode it (→ 415, RFC 9110 §15.5.16). */
export function contentCoding(header: string | undefined): ContentCoding | undefined {
  const v = (header ?? '').trim().toLowerCase();
  if (v === '' || v === 'identity') return 'identity';
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  if (v === 'deflate') return 'deflate';
  return undefined;
}

export interface Body {
  data: Buffer;
  /** Bytes received on the wire (compressed size). */
  wireBytes: number;
}

/** How long a refused upload may take to finish before the receiver answers anyway and hangs up. */
export const LINGER_MS = 5_000;

/**
 * Read and discard the rest of a refused upload, up to `limit` more bytes or `ms`, and resolve
 * true once the request has ended. The answer is sent only after this: a server that answers
 * and closes while the client is still uploading makes its kernel reset the connection, and the
 * client then sees EPIPE or ECONNRESET instead of the answer (and retries the same body).
 * False means we gave up; the caller answers with `Connection: close`.
 */
export function discardRest(req: IncomingMessage, limit: number, ms = LINGER_MS): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let discarded = 0;
    const settle = (ended: boolean) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      if (!ended) req.pause();
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > limit) settle(false);
    };
    const onEnd = () => settle(true);
    const onClose = () => settle(req.complete);
    const timer = setTimeout(() => settle(false), ms);
    req.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onClose);
    req.resume();
  });
}

/**
 * Read a request body, refusing it with 413 as soon as it passes `max` bytes on the wire or
 * after decompression. Decompression streams with the count checked on every output chunk, so
 * a gzip bomb costs at most `max` bytes of memory and the time to inflate them: decoding stops
 * there (what is still being uploaded is discarded, see `tooLarge`).
 */
export function readBody(req: IncomingMessage, coding: ContentCoding, max: number): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let wire = 0;
    let done = false;
    const inflater = coding === 'gzip' ? zlib.createGunzip() : coding === 'deflate' ? zlib.createInflate() : undefined;

    const stop = () => {
      done = true;
      req.off('data', onData);
      req.pause();
      inflater?.destroy();
    };
    const fail = (err: HttpError) => {
      if (done) return;
      stop();
      reject(err);
    };
    const finish = () => {
      if (done) return;
      done = true;
      resolve({ data: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size), wireBytes: wire });
    };
    const tooLarge = (where: string) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      inflater?.destroy();
      const message = `the request body is larger than max_body_bytes (${max} bytes) ${where}; send smaller batches`;
      void discardRest(req, max).then((ended) => reject(new HttpError(413, message, !ended)));
    };
    const output = (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) return tooLarge(inflater ? 'after decompression' : 'on the wire');
      chunks.push(chunk);
    };
    function onData(chunk: Buffer): void {
      if (done) return;
      wire += chunk.length;
      if (wire > max) return tooLarge('on the wire');
      if (inflater) inflater.write(chunk);
      else output(chunk);
    }

    if (inflater) {
      inflater.on('data', output);
      inflater.on('error', (err) => fail(new HttpError(400, `the body is not valid ${coding} data: ${err.message}`)));
      inflater.on('end', finish);
    }
    req.on('data', onData);
    req.on('end', () => {
      if (done) return;
      if (inflater) inflater.end();
      else finish();
    });
    const aborted = () => fail(new HttpError(400, 'the client aborted the request', true));
    req.on('error', aborted);
    req.on('close', () => {
      if (!req.complete) aborted();
    });
  });
}
