/**
 * One request to the events endpoint, start to finish, with the OTLP receiver's acknowledgement
 * rules (docs/events.md#posting-events): route, method, auth, media type, size, back-pressure,
 * parse, validate, durable emit, answer. 200 only once the accepted events are in the queue.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type BoundCounter,
  type BoundGauge,
  DecodeBudget,
  type EventAdmitter,
  HttpError,
  RateLimitedLog,
  ShutdownError,
  bearerCheck,
  contentCoding,
  discardRest,
  errorMessage,
  readBody,
  runInSlices,
  type SourceContext,
} from '../../../index.js';
import type { HttpEventsConfig } from './config.js';
import { HTTP_EVENTS_ERRORS } from './errors.js';
import { splitBody, toEvents } from './parse.js';
import { failure, reply } from './reply.js';
import type { SchemaApi } from './schema-api.js';

type MediaType = 'json' | 'ndjson';

/** Parsing hands the event loop back after this long, so that other requests and `/health` are served meanwhile. */
const SLICE_MS = 10;

function mediaType(header: string | undefined): MediaType | undefined {
  const media = (header ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (media === 'application/json') return 'json';
  if (media === 'application/x-ndjson' || media === 'application/jsonl' || media === 'application/json-seq') return 'ndjson';
  return undefined;
}

export class EventsHandler {
  private readonly authorized: ((header: string | undefined) => boolean) | undefined;
  private readonly retryAfter: string;
  private readonly budget: DecodeBudget;
  private readonly decodeRefused: BoundCounter;
  private readonly decodeBytes: BoundGauge;
  private readonly log: RateLimitedLog;
  stopping = false;

  constructor(
    private readonly config: HttpEventsConfig,
    private readonly ctx: SourceContext,
    private readonly admitter: EventAdmitter,
    private readonly schemaApi: SchemaApi,
  ) {
    this.authorized = bearerCheck(config.auth?.bearer_token);
    this.retryAfter = String(config.retry_after_secs);
    this.budget = new DecodeBudget(config.max_concurrent_decode_bytes);
    this.decodeRefused = ctx.metrics.counter('decode_refused_total', 'Requests answered 503 because no share of max_concurrent_decode_bytes came within decode_wait_secs.');
    this.decodeBytes = ctx.metrics.gauge('decode_bytes', 'Body bytes being parsed now, out of max_concurrent_decode_bytes.');
    this.log = new RateLimitedLog(ctx.logger);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      if (path === this.config.schemas_path || path.startsWith(`${this.config.schemas_path}/`)) return await this.schemaApi.handle(req, res, path, url.slice(q < 0 ? url.length : q + 1));
      if (path !== this.config.path) {
        this.ctx.metrics.error('not_found');
        return reply(res, 404, failure('TC_EVENTS_BAD_REQUEST', `no endpoint at ${path}: post events to ${this.config.path}`));
      }
      if (req.method !== 'POST') {
        this.ctx.metrics.error('method');
        return reply(res, 405, failure('TC_EVENTS_BAD_REQUEST', `${req.method} is not supported: POST events`), { Allow: 'POST' });
      }
      if (this.authorized && !this.authorized(req.headers.authorization)) {
        this.ctx.metrics.error('unauthorized');
        return reply(res, 401, failure('TC_EVENTS_BAD_REQUEST', 'missing or wrong bearer token: send "Authorization: Bearer <token>"'), { 'WWW-Authenticate': 'Bearer' });
      }
      const media = mediaType(req.headers['content-type']);
      const coding = contentCoding(req.headers['content-encoding']);
      if (media === undefined || coding === undefined) {
        this.ctx.metrics.error('unsupported_media_type');
        const what = media === undefined ? `Content-Type "${req.headers['content-type'] ?? ''}": send application/json or application/x-ndjson` : `Content-Encoding "${req.headers['content-encoding']}": send gzip, deflate or an uncompressed body`;
        return reply(res, 415, failure('TC_EVENTS_BAD_REQUEST', `unsupported ${what}`));
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > this.config.max_body_bytes) {
        const hangUp = declared > 2 * this.config.max_body_bytes || !(await discardRest(req, declared));
        throw new HttpError(413, `the request body (${declared} bytes) is larger than max_body_bytes (${this.config.max_body_bytes} bytes); send smaller batches`, hangUp);
      }
      // No early shed on `isBlocked()`: only the queues these events reach decide, in `emit`
      // (docs/delivery.md#when-a-destination-is-down).
      if (this.stopping) return this.busy(res, true);

      const body = await readBody(req, coding, this.config.max_body_bytes);
      const release = await this.budget.acquire(body.data.length, this.config.decode_wait_secs * 1000);
      if (release === undefined) return this.decodeBusy(res);
      this.decodeBytes.set(this.budget.inUse);
      try {
        await this.parseAndQueue(body.data, body.wireBytes, media, res);
      } finally {
        release();
        this.decodeBytes.set(this.budget.inUse);
      }
    } catch (err) {
      if (err instanceof HttpError) {
        this.ctx.metrics.error(err.status === 413 ? 'too_large' : 'decode');
        return reply(res, err.status, failure('TC_EVENTS_BAD_REQUEST', err.message), err.close ? { Connection: 'close' } : {});
      }
      this.ctx.metrics.error('internal');
      this.ctx.logger.error({ err }, 'internal error while handling an events request (500)');
      return reply(res, 500, failure('TC_EVENTS_BAD_REQUEST', `internal error: ${errorMessage(err)}`));
    }
  }

  /** Parse, validate, queue, answer: while the request holds its share of the decode budget. */
  private async parseAndQueue(data: Buffer, wireBytes: number, media: MediaType, res: ServerResponse): Promise<void> {
    const items = await runInSlices(splitBody(data.toString('utf8'), media === 'ndjson', this.config.max_events), SLICE_MS);
    this.ctx.metrics.received(items.length, wireBytes);
    const admission = this.admitter.admit(await runInSlices(toEvents(items), SLICE_MS));
    if (admission.accepted.length > 0) {
      if (this.stopping) return this.busy(res, true);
      if (!(await this.emit(admission.accepted, res))) return;
    }
    // Written only once the accepted events are queued: a 503 above makes the client resend
    // the whole request, and its dead letters would otherwise be recorded twice.
    if (admission.deadLetters.length > 0) this.ctx.deadLetter(admission.deadLetters, admission.deadLetterRows, 'events of unregistered types (unregistered = "dead_letter")');
    const refused = admission.refused.length;
    if (refused > 0) this.ctx.metrics.dropped(refused, 'invalid');
    reply(res, refused === 0 ? 200 : 422, {
      accepted: admission.accepted.length,
      dead_lettered: admission.deadLetters.length,
      rejected: admission.refused,
      ...(refused === 0 ? {} : { code: 'TC_EVENT_INVALID', message: `${refused} of ${items.length} events refused; the others were queued` }),
    });
  }

  private decodeBusy(res: ServerResponse): void {
    this.ctx.metrics.error('decode_busy');
    this.decodeRefused.inc();
    this.log.warn('decode_busy', { code: HTTP_EVENTS_ERRORS.TC_EVENTS_DECODE_BUSY }, 'too many large event requests at once; answering 503 so that producers retry later');
    reply(
      res,
      503,
      failure('TC_EVENTS_DECODE_BUSY', `the receiver is already parsing max_concurrent_decode_bytes (${this.config.max_concurrent_decode_bytes} bytes) of other requests; retry later`),
      { 'Retry-After': this.retryAfter },
    );
  }

  /** Queue the events; false when the answer (503) was already sent. */
  private async emit(events: Parameters<SourceContext['emit']>[0], res: ServerResponse): Promise<boolean> {
    try {
      const outcome = await this.ctx.emit(events, undefined, { wait: false });
      if (outcome === 'accepted') return true;
      this.busy(res, false);
    } catch (err) {
      if (err instanceof ShutdownError) this.busy(res, true);
      else {
        this.ctx.metrics.error('emit');
        this.ctx.logger.error({ err }, 'could not queue events; answering 503');
        reply(res, 503, failure('TC_QUEUE_FULL', `the agent could not queue the events: ${errorMessage(err)}`), { 'Retry-After': this.retryAfter });
      }
    }
    return false;
  }

  private busy(res: ServerResponse, stopping: boolean): void {
    this.ctx.metrics.error(stopping ? 'stopping' : 'queue_full');
    const [code, message] = stopping ? ['TC_SHUTTING_DOWN', 'the agent is shutting down; retry later'] : ['TC_QUEUE_FULL', 'a downstream queue is full; retry later'];
    reply(res, 503, failure(code, message), { 'Retry-After': this.retryAfter, ...(stopping ? { Connection: 'close' } : {}) });
  }
}
