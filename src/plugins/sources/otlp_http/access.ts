import type { IncomingHttpHeaders } from 'node:http';
import type { OtlpHttpConfig } from './config.js';

const BASE_HEADERS = ['Content-Type', 'Content-Encoding', 'Authorization'];

/** CORS (Fetch standard): off unless `cors.allowed_origins` lists origins. */
export class Cors {
  readonly enabled: boolean;
  private readonly any: boolean;
  private readonly origins: Set<string>;
  private readonly allowHeaders: string;
  private readonly maxAge: string;

  constructor(config: OtlpHttpConfig['cors']) {
    this.enabled = config.allowed_origins.length > 0;
    this.any = config.allowed_origins.includes('*');
    this.origins = new Set(config.allowed_origins);
    this.allowHeaders = [...BASE_HEADERS, ...config.allowed_headers].join(', ');
    this.maxAge = String(config.max_age_secs);
  }

  /** Headers that let a browser read the answer to a request from `origin`, if it is allowed. */
  responseHeaders(headers: IncomingHttpHeaders): Record<string, string> {
    const origin = headers.origin;
    if (!this.enabled || origin === undefined || !(this.any || this.origins.has(origin))) return {};
    return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
  }

  /** The answer to a preflight `OPTIONS`: 204 with the allowed method and headers, or 403. */
  preflight(headers: IncomingHttpHeaders): { status: number; headers: Record<string, string> } {
    const allowed = this.responseHeaders(headers);
    if (allowed['Access-Control-Allow-Origin'] === undefined) return { status: 403, headers: { Vary: 'Origin' } };
    return {
      status: 204,
      headers: { ...allowed, 'Access-Control-Allow-Methods': 'POST', 'Access-Control-Allow-Headers': this.allowHeaders, 'Access-Control-Max-Age': this.maxAge },
    };
  }
}
