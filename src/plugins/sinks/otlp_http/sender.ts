import fs from 'node:fs';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Agent, request } from 'undici';
import { PermanentError, RetryableError, ThermoclineError } from '../../../index.js';
import type { OtlpSinkConfig } from './config.js';
import { classify, partialSuccess, retryAfterMs, statusMessage } from './response.js';
import { OTLP_SINK_ERRORS } from './errors.js';

const gzip = promisify(zlib.gzip);

export type Signal = 'traces' | 'logs' | 'metrics';

export interface SendResult {
  /** Items the receiver reported as rejected in a partial success. */
  rejected: number;
  message: string;
}

/** POSTs OTLP/HTTP protobuf requests and turns the answers into results or classified errors. */
export class Sender {
  private readonly dispatcher: Agent;
  private readonly headers: Record<string, string>;

  constructor(private readonly config: OtlpSinkConfig) {
    let ca: string | undefined;
    if (config.tls.ca_file) {
      try {
        ca = fs.readFileSync(config.tls.ca_file, 'utf8');
      } catch (err) {
        throw new ThermoclineError(OTLP_SINK_ERRORS.TC_OTLP_SINK_TLS, `cannot read tls.ca_file ${config.tls.ca_file}: ${(err as Error).message}`);
      }
    }
    this.dispatcher = new Agent({
      connect: { rejectUnauthorized: !config.tls.insecure_skip_verify, ...(ca ? { ca } : {}) },
      headersTimeout: config.timeout,
      bodyTimeout: config.timeout,
    });
    this.headers = {
      ...config.headers,
      'content-type': 'application/x-protobuf',
      ...(config.compression === 'gzip' ? { 'content-encoding': 'gzip' } : {}),
      ...(config.auth ? { authorization: `Bearer ${config.auth.bearer_token}` } : {}),
    };
  }

  url(signal: Signal): string {
    return `${this.config.endpoint.replace(/\/+$/, '')}${this.config.paths[signal]}`;
  }

  async send(signal: Signal, body: Uint8Array): Promise<SendResult> {
    const url = this.url(signal);
    const payload = this.config.compression === 'gzip' ? await gzip(body) : Buffer.from(body.buffer, body.byteOffset, body.length);
    let res;
    try {
      res = await request(url, { method: 'POST', body: payload, headers: this.headers, dispatcher: this.dispatcher, signal: AbortSignal.timeout(this.config.timeout) });
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new RetryableError(`cannot send to ${url}: ${code ? `${code} ` : ''}${(err as Error).message}`, { cause: err });
    }
    const answer = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode >= 200 && res.statusCode < 300) return partialSuccess(answer) ?? { rejected: 0, message: '' };
    const contentType = res.headers['content-type'];
    throw classify(res.statusCode, statusMessage(answer, Array.isArray(contentType) ? contentType[0] : contentType), retryAfterMs(res.headers['retry-after']), url);
  }

  isTooLarge(err: unknown): boolean {
    return err instanceof PermanentError && / answered 413/.test(err.message);
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}
