import type { JetStreamClient, MsgHdrs, PubAck } from 'nats';
import { RetryableError, ThermoclineError, type ComponentContext } from '../../../index.js';
import { loadNats, natsConnectionError, openNatsConnection, type NatsClient } from './connection.js';
import type { NatsSinkConfig } from './config.js';
import { NATS_ERRORS } from './errors.js';
import { toHeaders } from './format.js';
import type { OutgoingMessage } from './messages.js';
import { ensureStream } from './stream.js';

/** Room left for headers (`Nats-Msg-Id`, format, counts) under the server's max_payload. */
const HEADER_ROOM = 4096;

/** A connection with its JetStream context, made ready (stream created or verified) once. */
export class Publisher {
  private nc: NatsClient | undefined;
  private js: JetStreamClient | undefined;
  private makeHeaders: (() => MsgHdrs) | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly config: NatsSinkConfig,
    private readonly ctx: ComponentContext,
  ) {}

  /** Connect and create or verify the stream; a failure is classified and the next call tries again. */
  ready(): Promise<void> {
    if (this.js) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const nc = await openNatsConnection(this.config, this.ctx, () => {
      if (this.nc === nc) this.nc = this.js = undefined;
    });
    try {
      const jsm = await nc.jetstreamManager({ timeout: this.config.request_timeout });
      const outcome = await ensureStream(jsm, this.config);
      this.ctx.logger.info({ stream: this.config.stream.name, outcome }, `stream ${this.config.stream.name} ${outcome}`);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw classifyJetStream(err, this.config);
    }
    this.makeHeaders = (await loadNats()).headers;
    this.nc = nc;
    this.js = nc.jetstream({ timeout: this.config.request_timeout });
  }

  /** The largest body this connection may publish. */
  limit(): number {
    const server = (this.nc?.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM;
    return Math.max(1024, Math.min(server, this.config.max_message_bytes ?? Infinity));
  }

  /**
   * Publish all messages, pipelined, and resolve once JetStream acknowledged every one (the
   * stream has stored it on a quorum of its replicas).
   */
  async publish(messages: readonly OutgoingMessage[]): Promise<{ duplicates: number }> {
    await this.ready();
    if (!this.nc?.connected) throw natsConnectionError(new Error('disconnected, reconnecting'), this.config.servers);
    const js = this.js as JetStreamClient;
    let acks: PubAck[];
    try {
      acks = await Promise.all(messages.map((m) => js.publish(m.subject, m.body, { msgID: m.msgId, headers: toHeaders(m.headers, this.makeHeaders as () => MsgHdrs), timeout: this.config.request_timeout })));
    } catch (err) {
      throw classifyJetStream(err, this.config);
    }
    return { duplicates: acks.filter((a) => a.duplicate).length };
  }

  /** Connects, creates or verifies the stream, and reads it back: what a write needs, without writing. */
  async healthcheck(): Promise<void> {
    await this.ready();
    try {
      const jsm = await (this.nc as NatsClient).jetstreamManager({ timeout: this.config.request_timeout });
      await jsm.streams.info(this.config.stream.name);
    } catch (err) {
      throw classifyJetStream(err, this.config);
    }
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = this.js = undefined;
    if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
  }
}

/**
 * JetStream failures as classified errors. All are retryable: the data stays queued at the edge
 * (credentials, a stream or the cluster can be fixed while it waits), and each carries the code
 * that says what to fix.
 */
export function classifyJetStream(err: unknown, config: NatsSinkConfig): Error {
  if (err instanceof ThermoclineError) {
    return err instanceof RetryableError ? err : new RetryableError(err.message, { code: err.code, cause: err });
  }
  const message = (err as Error).message ?? String(err);
  const code = (err as { code?: string }).code ?? '';
  if (code === '503' || /no responders/i.test(message)) {
    return new RetryableError(`no JetStream answered for the stream or subject (${message}): is JetStream enabled and does stream ${config.stream.name} capture the subject?`, {
      code: /\$JS\.API|jetstream not enabled/i.test(message) ? NATS_ERRORS.TC_NATS_NO_JETSTREAM : NATS_ERRORS.TC_NATS_PUBLISH,
      cause: err,
    });
  }
  if (/jetstream not enabled/i.test(message)) return new RetryableError(`JetStream is not enabled: ${message}`, { code: NATS_ERRORS.TC_NATS_NO_JETSTREAM, cause: err });
  if (/permission|authorization/i.test(message)) return new RetryableError(`NATS denied the operation: ${message}`, { code: NATS_ERRORS.TC_NATS_AUTH, cause: err });
  if (code === 'TIMEOUT' || /timeout/i.test(message)) return new RetryableError(`JetStream did not acknowledge in time: ${message}`, { code: NATS_ERRORS.TC_NATS_PUBLISH, cause: err });
  if (/CONNECTION|disconnect|closed/i.test(`${code} ${message}`)) return natsConnectionError(err, config.servers);
  return new RetryableError(`JetStream: ${message}`, { code: NATS_ERRORS.TC_NATS_PUBLISH, cause: err });
}
