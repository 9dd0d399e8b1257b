import fs from 'node:fs/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { errorMessage, ThermoclineError } from '../../../index.js';
import type { PrometheusScrapeConfig } from './config.js';
import { ACCEPT_HEADER } from './negotiation.js';
import { PROM_SCRAPE_ERRORS } from './errors.js';

const gunzip = promisify(zlib.gunzip);

/** A scrape that failed; `code` is one of this plugin's error codes. */
export class ScrapeError extends ThermoclineError {
  constructor(code: (typeof PROM_SCRAPE_ERRORS)['TC_PROM_SCRAPE_FAILED' | 'TC_PROM_BODY_TOO_LARGE' | 'TC_PROM_NOT_EXPOSITION'], message: string) {
    super(code, message);
    this.name = 'ScrapeError';
  }
}

/** Thrown when the source is stopped during a request: not a failure of the target. */
export class ScrapeAborted extends Error {}

export interface FetchedBody {
  text: string;
  contentType: string | undefined;
  /** Bytes received on the wire (compressed, when gzip). */
  wireBytes: number;
}

/**
 * The HTTP side of a scrape (undici 7): one connection pool for all targets of the source, TLS
 * and auth options, Prometheus' `Accept` header, gzip, a whole-scrape timeout, and a body limit
 * that stops reading as soon as it is passed (on the wire and again after decompression, so a
 * small gzip bomb cannot blow up either).
 */
export class ScrapeClient {
  private dispatcher: Dispatcher | undefined;
  private agent: Agent | undefined;
  private userAgent = 'Thermocline';

  constructor(private readonly config: PrometheusScrapeConfig) {}

  /** Read the TLS files and build the connection pool. Safe to call again after it failed. */
  async start(): Promise<void> {
    if (this.dispatcher) return;
    const tls = this.config.tls;
    const read = async (option: string, file: string | undefined) => {
      if (file === undefined) return undefined;
      try {
        return await fs.readFile(file);
      } catch (err) {
        throw new ThermoclineError(PROM_SCRAPE_ERRORS.TC_PROM_CREDENTIALS, `cannot read ${option} "${file}": ${errorMessage(err)}`, { cause: err });
      }
    };
    const [ca, cert, key] = [await read('tls.ca_file', tls?.ca_file), await read('tls.cert_file', tls?.cert_file), await read('tls.key_file', tls?.key_file)];
    this.userAgent = `Thermocline/${await packageVersion()}`;
    const timeout = this.config.timeout;
    const agent = new Agent({
      connect: {
        timeout,
        ...(ca ? { ca } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        ...(tls?.server_name ? { servername: tls.server_name } : {}),
        rejectUnauthorized: !(tls?.insecure_skip_verify ?? false),
      },
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    this.agent = agent;
    this.dispatcher = this.config.follow_redirects ? agent.compose(interceptors.redirect({ maxRedirections: 10 })) : agent;
  }

  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    this.dispatcher = undefined;
    await agent?.destroy().catch(() => undefined);
  }

  /**
   * GET `url` and return its body as text. Throws `ScrapeError` for anything that fails the scrape
   * and `ScrapeAborted` when `stop` aborts first.
   */
  async fetch(url: string, stop: AbortSignal): Promise<FetchedBody> {
    const dispatcher = this.dispatcher;
    if (!dispatcher) throw new ScrapeAborted('the client is closed');
    const { timeout, max_body_bytes: max } = this.config;
    const timer = AbortSignal.timeout(timeout);
    const signal = AbortSignal.any([timer, stop]);
    const failure = (err: unknown): Error => {
      if (stop.aborted) return new ScrapeAborted('stopped');
      if (timer.aborted) return new ScrapeError(PROM_SCRAPE_ERRORS.TC_PROM_SCRAPE_FAILED, `the scrape timed out after ${timeout / 1000}s`);
      if (err instanceof ScrapeError) return err;
      return new ScrapeError(PROM_SCRAPE_ERRORS.TC_PROM_SCRAPE_FAILED, describeNetworkError(err));
    };
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { dispatcher, method: 'GET', headers: await this.headers(), signal });
    } catch (err) {
      throw failure(err);
    }
    try {
      if (res.statusCode !== 200) throw new ScrapeError(PROM_SCRAPE_ERRORS.TC_PROM_SCRAPE_FAILED, `the target answered HTTP ${res.statusCode} (Prometheus expects 200)`);
      const declared = Number(first(res.headers['content-length']));
      if (declared > max) throw tooLarge(max, `it announced ${declared} bytes`);
      const chunks: Buffer[] = [];
      let wireBytes = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        wireBytes += chunk.length;
        if (wireBytes > max) throw tooLarge(max, 'on the wire');
        chunks.push(chunk);
      }
      let body: Buffer = Buffer.concat(chunks, wireBytes);
      const encoding = first(res.headers['content-encoding'])?.trim().toLowerCase();
      if (encoding === 'gzip' || encoding === 'x-gzip') body = await decompress(body, max);
      else if (encoding && encoding !== 'identity')
        throw new ScrapeError(PROM_SCRAPE_ERRORS.TC_PROM_SCRAPE_FAILED, `the target answered with an unsupported Content-Encoding "${encoding}"`);
      return { text: body.toString('utf8'), contentType: first(res.headers['content-type']), wireBytes };
    } catch (err) {
      throw failure(err);
    } finally {
      if (!res.body.destroyed) {
        // Destroying an unread body makes it emit an abort error: expected here, so swallowed.
        res.body.on('error', () => undefined);
        res.body.destroy();
      }
    }
  }

  private async headers(): Promise<Record<string, string>> {
    const headers: Record<string, string> = {
      accept: ACCEPT_HEADER,
      'accept-encoding': this.config.compression === 'gzip' ? 'gzip' : 'identity',
      'user-agent': this.userAgent,
      // Lets exporters bound their own work, as Prometheus does.
      'x-prometheus-scrape-timeout-seconds': String(this.config.timeout / 1000),
    };
    const authorization = await this.authorization();
    if (authorization) headers.authorization = authorization;
    return headers;
  }

  /** Credentials files are read before every scrape, so rotated secrets are picked up (as Prometheus does). */
  private async authorization(): Promise<string | undefined> {
    const { bearer_token, bearer_token_file, basic_auth } = this.config;
    if (bearer_token !== undefined) return `Bearer ${bearer_token}`;
    if (bearer_token_file !== undefined) return `Bearer ${await readSecret('bearer_token_file', bearer_token_file)}`;
    if (basic_auth !== undefined) {
      const password =
        basic_auth.password_file !== undefined ? await readSecret('basic_auth.password_file', basic_auth.password_file) : (basic_auth.password ?? '');
      return `Basic ${Buffer.from(`${basic_auth.username}:${password}`).toString('base64')}`;
    }
    return undefined;
  }
}

async function readSecret(option: string, file: string): Promise<string> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ScrapeError(PROM_SCRAPE_ERRORS.TC_PROM_SCRAPE_FAILED, `cannot read ${option} "${file}": ${errorMessage(err)}`);
  }
}

async function decompress(body: Buffer, max: number): Promise<Buffer> {
  try {
    return await gunzip(body, { maxOutputLength: max });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(max, 'after gzip decompression');
    throw new ScrapeError(PROM_SCRAPE_ERRORS.TC_PROM_SCRAPE_FAILED, `the gzip body cannot be decompressed: ${errorMessage(err)}`);
  }
}

function tooLarge(max: number, where: string): ScrapeError {
  return new ScrapeError(PROM_SCRAPE_ERRORS.TC_PROM_BODY_TOO_LARGE, `the body is larger than max_body_bytes (${max} bytes) ${where}`);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A short reason from undici / Node network errors (codes live on the error or its cause). */
function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? errorMessage(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

let version: Promise<string> | undefined;
function packageVersion(): Promise<string> {
  version ??= fs
    .readFile(new URL('../../../../package.json', import.meta.url), 'utf8')
    .then((text) => (JSON.parse(text) as { version?: string }).version ?? 'unknown')
    .catch(() => 'unknown');
  return version;
}
