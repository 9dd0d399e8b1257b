import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type BoundCounter,
  type BoundGauge,
  CORE_ERRORS,
  DecodeBudget,
  bearerCheck,
  contentCoding,
  discardRest,
  errorMessage,
  HttpError,
  RateLimitedLog,
  readBody,
  runInSlices,
  ShutdownError,
  type SourceContext,
} from '../../../index.js';
import { Cors } from './access.js';
import type { OtlpHttpConfig } from './config.js';
import { OTLP_SOURCE_ERRORS } from './errors.js';
import { ItemLimits, TooManyItems } from './item-limits.js';
import { JsonShapeError } from './json/reader.js';
import type { Decoded } from './mapping.js';
import { GRPC, exportResponse, send, statusBody, type BodyEncoding } from './reply.js';
import { routes, type Signal } from './signals.js';
import { logRecordsToEvents } from './events.js';
import type { EventGate, GatedEvents } from './event-gate.js';

/**
 * How long a decode runs before it hands the event loop back: short enough that `/health`, the
 * API and small requests are answered while a 20 MiB request is decoded, long enough that the
 * pauses cost a few percent of the decode.
 */
const SLICE_MS = 10;

type Refuse = (status: number, code: number, message: string, headers?: Record<string, string>) => void;

/** The body encoding named by `Content-Type` (parameters such as `charset` are ignored). */
function bodyEncoding(header: string | undefined): BodyEncoding | undefined {
  const media = (header ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (media === 'application/x-protobuf') return 'protobuf';
  if (media === 'application/json') return 'json';
  return undefined;
}

/**
 * One OTLP/HTTP request, start to finish (OTLP specification, "OTLP/HTTP"): route, method,
 * auth, media type, size, back-pressure, decode, durable emit, answer. Each refusal has its
 * status code and a `google.rpc.Status` body in the request's encoding.
 */
export class RequestHandler {
  private readonly routes: Map<string, Signal>;
  private readonly cors: Cors;
  private readonly authorized: ((header: string | undefined) => boolean) | undefined;
  private readonly log: RateLimitedLog;
  private readonly retryAfter: string;
  private readonly budget: DecodeBudget;
  private readonly counters: {
    attributesDropped: BoundCounter;
    valuesTruncated: BoundCounter;
    decodeWaits: BoundCounter;
    decodeRefused: BoundCounter;
    decodeBytes: BoundGauge;
  };
  /** Set when the source stops: nothing is emitted after that. */
  stopping = false;

  constructor(
    private readonly config: OtlpHttpConfig,
    private readonly ctx: SourceContext,
    private readonly gate: EventGate,
  ) {
    this.routes = routes(config);
    this.cors = new Cors(config.cors);
    this.authorized = bearerCheck(config.auth?.bearer_token);
    this.log = new RateLimitedLog(ctx.logger);
    this.retryAfter = String(config.retry_after_secs);
    this.budget = new DecodeBudget(config.max_concurrent_decode_bytes);
    const m = ctx.metrics;
    this.counters = {
      attributesDropped: m.counter('attributes_dropped_total', 'Attributes dropped because their span, event, link, log record, data point, resource or scope had max_attributes_per_item.'),
      valuesTruncated: m.counter('attribute_values_truncated_total', 'Attribute values cut to max_attribute_value_bytes.'),
      decodeWaits: m.counter('decode_waits_total', 'Requests that waited for a share of max_concurrent_decode_bytes.'),
      decodeRefused: m.counter('decode_refused_total', 'Requests answered 503 because no share of max_concurrent_decode_bytes came within decode_wait_secs.'),
      decodeBytes: m.gauge('decode_bytes', 'Body bytes being decoded now, out of max_concurrent_decode_bytes.'),
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const corsHeaders = this.cors.responseHeaders(req.headers);
    let encoding: BodyEncoding = bodyEncoding(req.headers['content-type']) ?? 'json';
    const refuse = (status: number, code: number, message: string, headers: Record<string, string> = {}) =>
      send(res, status, encoding, statusBody(encoding, code, message), { ...corsHeaders, ...headers });
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const signal = this.routes.get(q < 0 ? url : url.slice(0, q));
      if (signal === undefined) {
        this.ctx.metrics.error('not_found');
        return refuse(
          404,
          GRPC.NOT_FOUND,
          `no OTLP endpoint at ${url}: post traces to ${this.config.paths.traces}, logs to ${this.config.paths.logs}, metrics to ${this.config.paths.metrics}`,
        );
      }
      if (req.method === 'OPTIONS' && this.cors.enabled) {
        const answer = this.cors.preflight(req.headers);
        res.writeHead(answer.status, answer.headers).end();
        return;
      }
      if (req.method !== 'POST') {
        this.ctx.metrics.error('method');
        return refuse(405, GRPC.UNIMPLEMENTED, `${req.method} is not supported: OTLP/HTTP accepts POST only`, {
          Allow: this.cors.enabled ? 'POST, OPTIONS' : 'POST',
        });
      }
      if (this.authorized && !this.authorized(req.headers.authorization)) {
        this.ctx.metrics.error('unauthorized');
        return refuse(401, GRPC.UNAUTHENTICATED, 'missing or wrong bearer token: send "Authorization: Bearer <token>"', { 'WWW-Authenticate': 'Bearer' });
      }
      const requestEncoding = bodyEncoding(req.headers['content-type']);
      if (requestEncoding === undefined) {
        this.ctx.metrics.error('unsupported_media_type');
        return refuse(
          415,
          GRPC.INVALID_ARGUMENT,
          `unsupported Content-Type "${req.headers['content-type'] ?? ''}": send application/x-protobuf or application/json`,
        );
      }
      encoding = requestEncoding;
      const coding = contentCoding(req.headers['content-encoding']);
      if (coding === undefined) {
        this.ctx.metrics.error('unsupported_media_type');
        return refuse(
          415,
          GRPC.INVALID_ARGUMENT,
          `unsupported Content-Encoding "${req.headers['content-encoding']}": send gzip, deflate or an uncompressed body`,
        );
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > this.config.max_body_bytes) {
        // Read and discarded before answering, so that the client reads the 413 rather than a
        // reset; an absurd length is not worth reading: answer at once and hang up.
        const hangUp = declared > 2 * this.config.max_body_bytes || !(await discardRest(req, declared));
        throw new HttpError(
          413,
          `the request body (${declared} bytes) is larger than max_body_bytes (${this.config.max_body_bytes} bytes); send smaller batches`,
          hangUp,
        );
      }
      // No early shed on a full queue: which queues a request reaches is known only once it is
      // decoded and routed, and a full metrics queue must not refuse traces
      // (docs/delivery.md#when-a-destination-is-down). `emit` answers 'full' for this request alone.
      if (this.stopping) return this.busy(refuse, true);

      const body = await readBody(req, coding, this.config.max_body_bytes);
      this.ctx.metrics.received(0, body.wireBytes);
      const size = body.data.length;
      if (!this.budget.grantsAtOnce(size)) this.counters.decodeWaits.inc();
      const release = await this.budget.acquire(size, this.config.decode_wait_secs * 1000);
      if (release === undefined) return this.decodeBusy(refuse);
      this.counters.decodeBytes.set(this.budget.inUse);
      try {
        await this.decodeAndQueue(signal, encoding, body.data, refuse, corsHeaders, res);
      } finally {
        release();
        this.counters.decodeBytes.set(this.budget.inUse);
      }
    } catch (err) {
      if (err instanceof TooManyItems) {
        this.ctx.metrics.error('too_many_items');
        this.log.warn('too_many_items', { code: OTLP_SOURCE_ERRORS.TC_OTLP_TOO_MANY_ITEMS, max_items_per_request: err.limit }, 'refused an OTLP request over max_items_per_request (413)');
        return refuse(413, GRPC.RESOURCE_EXHAUSTED, `${OTLP_SOURCE_ERRORS.TC_OTLP_TOO_MANY_ITEMS}: the request carries more than max_items_per_request (${err.limit}) spans, log records or data points; export smaller batches`);
      }
      if (err instanceof HttpError) {
        this.ctx.metrics.error(err.status === 413 ? 'too_large' : 'decode');
        if (err.status === 400) this.log.warn('bad_request', { error: err.message }, 'refused an undecodable OTLP request (400)');
        return refuse(err.status, err.status === 413 ? GRPC.RESOURCE_EXHAUSTED : GRPC.INVALID_ARGUMENT, err.message, err.close ? { Connection: 'close' } : {});
      }
      this.ctx.metrics.error('internal');
      this.log.error('internal', { err }, 'internal error while handling an OTLP request (500)');
      return refuse(500, GRPC.INTERNAL, `internal error: ${errorMessage(err)}`);
    }
  }

  /** Decode within the request limits, queue, answer. Runs while the request holds its share of the decode budget. */
  private async decodeAndQueue(signal: Signal, encoding: BodyEncoding, data: Buffer, refuse: Refuse, corsHeaders: Record<string, string>, res: ServerResponse): Promise<void> {
    const lim = new ItemLimits(this.config.max_attributes_per_item, this.config.max_attribute_value_bytes, this.config.max_items_per_request);
    const decoded = await this.decode(signal, encoding, data, lim);
    this.countLimits(lim, signal);
    let gated: GatedEvents | undefined;
    if (signal.name === 'logs' && this.config.log_events === 'events') {
      gated = this.gate.admit(logRecordsToEvents(decoded.events));
      decoded.events = gated.events;
    }
    if (decoded.rejected > 0) {
      this.ctx.metrics.dropped(decoded.rejected, 'invalid');
      this.log.warn(
        `rejected_${signal.name}`,
        { rejected: decoded.rejected, reason: decoded.reason },
        `refused invalid ${signal.items}; the client is told in partial_success`,
      );
    }
    if (decoded.events.length > 0) {
      if (this.stopping) return this.busy(refuse, true);
      if (!(await this.emit(decoded, refuse))) return;
    }
    const messages = decoded.rejected > 0 ? [`${decoded.rejected} ${signal.items} refused: ${decoded.reason}`] : [];
    const deadLettered = gated?.refused.deadLetterRows ?? [];
    if (gated !== undefined && deadLettered.length > 0) {
      // After the queued part is durable: a retry after a failed emit does not dead-letter twice.
      this.gate.deadLetter(gated.refused);
      messages.push(`${deadLettered.length} events dead-lettered: ${deadLettered[0]?.reason}${deadLettered.length > 1 ? ' (and others; see thermocline dead-letter)' : ''}`);
    }
    send(res, 200, encoding, exportResponse(encoding, signal.partial, decoded.rejected + deadLettered.length, messages.join('; ')), corsHeaders);
  }

  private countLimits(lim: ItemLimits, signal: Signal): void {
    if (lim.droppedAttributes === 0 && lim.truncatedValues === 0) return;
    this.counters.attributesDropped.inc(lim.droppedAttributes);
    this.counters.valuesTruncated.inc(lim.truncatedValues);
    this.log.warn(
      'attribute_limits',
      { signal: signal.name, dropped_attributes: lim.droppedAttributes, truncated_values: lim.truncatedValues, max_attributes_per_item: lim.maxAttributes, max_attribute_value_bytes: lim.maxValueBytes },
      'an OTLP request exceeded the attribute limits: attributes beyond max_attributes_per_item were dropped, longer values cut to max_attribute_value_bytes',
    );
  }

  private decodeBusy(refuse: Refuse): void {
    this.ctx.metrics.error('decode_busy');
    this.counters.decodeRefused.inc();
    this.log.warn('decode_busy', { code: OTLP_SOURCE_ERRORS.TC_OTLP_DECODE_BUSY }, 'too many large OTLP requests at once; answering 503 so that clients retry later');
    refuse(
      503,
      GRPC.UNAVAILABLE,
      `${OTLP_SOURCE_ERRORS.TC_OTLP_DECODE_BUSY}: the receiver is already decoding max_concurrent_decode_bytes (${this.config.max_concurrent_decode_bytes} bytes) of other requests; retry later`,
      { 'Retry-After': this.retryAfter },
    );
  }

  /** Queue the events; false when the answer (503) was already sent. */
  private async emit(decoded: Decoded, refuse: Refuse): Promise<boolean> {
    try {
      // 200 only once the batch is durable: emit resolves after the queue transaction commits.
      const outcome = await this.ctx.emit(decoded.events, undefined, { wait: false });
      if (outcome === 'accepted') return true;
      this.busy(refuse, false);
    } catch (err) {
      if (err instanceof ShutdownError) {
        this.busy(refuse, true);
      } else {
        // The queue could not commit (disk full, I/O error): the client keeps the data and retries.
        this.ctx.metrics.error('emit');
        this.log.error('emit', { err }, 'could not queue an OTLP request; answering 503');
        refuse(503, GRPC.UNAVAILABLE, `the agent could not queue the data: ${errorMessage(err)}`, { 'Retry-After': this.retryAfter });
      }
    }
    return false;
  }

  private busy(refuse: Refuse, stopping: boolean): void {
    this.ctx.metrics.error(stopping ? 'stopping' : 'queue_full');
    if (!stopping) this.log.warn('queue_full', { code: CORE_ERRORS.TC_QUEUE_FULL }, 'a queue this request goes to is full; answering 503 so that clients retry later');
    const message = stopping ? 'the agent is shutting down; retry later' : 'a queue this request goes to is full; retry later';
    refuse(503, GRPC.UNAVAILABLE, message, { 'Retry-After': this.retryAfter, ...(stopping ? { Connection: 'close' } : {}) });
  }

  private async decode(signal: Signal, encoding: BodyEncoding, data: Buffer, lim: ItemLimits): Promise<Decoded> {
    if (encoding === 'protobuf') {
      try {
        return await runInSlices(signal.protobuf(data, lim), SLICE_MS);
      } catch (err) {
        if (err instanceof TooManyItems) throw err;
        throw new HttpError(400, `the body is not a valid protobuf Export${title(signal.name)}ServiceRequest: ${errorMessage(err)}`);
      }
    }
    let parsed: unknown;
    try {
      // One synchronous parse: the decode budget, not slicing, bounds what it costs.
      parsed = JSON.parse(data.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, `the body is not valid JSON: ${errorMessage(err)}`);
    }
    try {
      return await runInSlices(signal.json(parsed, lim), SLICE_MS);
    } catch (err) {
      if (err instanceof JsonShapeError)
        throw new HttpError(400, `the body is not a valid OTLP/JSON Export${title(signal.name)}ServiceRequest: ${err.message}`);
      throw err;
    }
  }
}

const title = (name: string): string => (name === 'traces' ? 'Trace' : name === 'logs' ? 'Logs' : 'Metrics');
