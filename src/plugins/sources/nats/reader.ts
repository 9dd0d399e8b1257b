import type { Consumer, JetStreamClient, JsMsg } from 'nats';
import {
  openNatsConnection,
  RateLimitedLog,
  ShutdownError,
  sleep,
  type EncodedEmit,
  type NatsClient,
  type SourceContext,
} from '../../../index.js';
import { CommittedSequences } from './committed.js';
import type { NatsSourceConfig } from './config.js';
import { ensureConsumer } from './consumer.js';
import { rawMessageEvent, readMessage } from './decode.js';
import { NATS_SOURCE_ERRORS } from './errors.js';
import { originOf } from './origin.js';

const ACK = new TextEncoder().encode('+ACK');

/** How long to wait before asking again when the stream had nothing for this gateway. */
const IDLE_POLL_MS = 50;

/** How often the consumer's acknowledgement floor is read to prune the committed set. */
const FLOOR_EVERY_MS = 5000;

/**
 * Pulls from the shared durable consumer and commits what it gets, then acknowledges it
 * (docs/scaling.md, "The guarantee at each hop"):
 *
 * 1. fetch up to `fetch_batch` messages;
 * 2. skip the ones whose stream sequence is already committed (a redelivery after a crash between
 *    commit and acknowledgement), dead-letter the undecodable ones;
 * 3. emit the batches of the rest in one call, as they arrived (the core decodes them only if a
 *    transform needs the events), each message an origin of its own (its upstream identity, the
 *    same on every gateway), with the committed-sequence set as checkpoint: one SQLite transaction;
 * 4. acknowledge all of them.
 *
 * While a downstream queue is full it does not fetch (JetStream keeps the messages), and while it
 * waits inside `emit` it tells JetStream the messages are still being worked on, so they are not
 * redelivered to another gateway meanwhile.
 */
export class Reader {
  private nc: NatsClient | undefined;
  private consumer: Consumer | undefined;
  private js: JetStreamClient | undefined;
  private committed: CommittedSequences;
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private floorReadAt = 0;
  private readonly log: RateLimitedLog;
  private readonly skipped;
  private readonly acked;
  private readonly badMessages;

  constructor(
    private readonly config: NatsSourceConfig,
    private readonly ctx: SourceContext,
  ) {
    this.committed = CommittedSequences.fromCheckpoint(`${config.stream}/${config.consumer}`, ctx.checkpoint);
    this.log = new RateLimitedLog(ctx.logger);
    this.skipped = ctx.metrics.counter('redeliveries_skipped_total', 'Redelivered messages recognised as already committed, acknowledged without emitting them again.');
    this.acked = ctx.metrics.counter('messages_acked_total', 'Messages acknowledged to JetStream after their events were committed.');
    this.badMessages = ctx.metrics.counter('dead_lettered_messages_total', 'Messages not in a readable format, dead-lettered and acknowledged.');
  }

  /** Connect and bind the consumer; a failure is a classified error and start is retried. */
  async connect(): Promise<void> {
    if (this.consumer) return;
    const nc = await openNatsConnection(this.config, this.ctx, () => {
      if (this.nc === nc) this.nc = this.consumer = this.js = undefined;
    });
    try {
      this.consumer = await ensureConsumer(nc, this.config);
      this.js = nc.jetstream({ timeout: this.config.request_timeout });
      this.nc = nc;
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  run(): void {
    this.loop ??= this.pump();
  }

  private async pump(): Promise<void> {
    const signal = this.stopping.signal;
    let backoff = 250;
    while (!signal.aborted) {
      try {
        if (this.ctx.isBlocked()) {
          await sleep(100, signal);
          continue;
        }
        await this.connect();
        const msgs = await this.fetch();
        if (msgs.length > 0) await this.handle(msgs);
        else await sleep(IDLE_POLL_MS, signal);
        await this.readFloor();
        backoff = 250;
      } catch (err) {
        if (err instanceof ShutdownError || signal.aborted) break;
        const message = (err as Error).message;
        this.log.warn('read', { code: (err as { code?: string }).code, error: message }, `reading from JetStream failed; retrying: ${message}`);
        this.ctx.metrics.error('nats');
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /**
   * Up to `fetch_batch` messages or `fetch_max_bytes`, one pull request of one message at a time, each with `no_wait`
   * (the server answers at once, with a message or "none"). A request for several messages can
   * still be served after the client has stopped listening to it (it expired on the client's
   * timer, or the client saw "no more pending" while the server went on), and those messages are
   * dropped in transit: JetStream redelivers them only after `ack_wait`. A one-message request is
   * complete when its message arrives, so nothing is left in flight.
   */
  private async fetch(): Promise<JsMsg[]> {
    const js = this.js as JetStreamClient;
    const msgs: JsMsg[] = [];
    let bytes = 0;
    while (msgs.length < this.config.fetch_batch && bytes < this.config.fetch_max_bytes && !this.stopping.signal.aborted) {
      const before = msgs.length;
      const request = js.fetch(this.config.stream, this.config.consumer, { batch: 1, no_wait: true });
      // A no_wait request has no expiry of its own: one lost with a NATS node would wait forever.
      const guard = setTimeout(() => request.stop(), this.config.request_timeout);
      try {
        for await (const m of request) {
          msgs.push(m);
          bytes += m.data.length;
        }
      } finally {
        clearTimeout(guard);
      }
      if (msgs.length === before) break;
    }
    return msgs;
  }

  private async handle(msgs: JsMsg[]): Promise<void> {
    const batches: EncodedEmit[] = [];
    const fresh: number[] = [];
    let skipped = 0;
    for (const m of msgs) {
      if (this.committed.has(m.seq)) {
        skipped++;
        continue;
      }
      const decoded = readMessage(m.data, m.headers);
      if ('error' in decoded) {
        // Committed at once, before the checkpoint that moves past it: after a crash in between
        // the entry may be written twice, never lost.
        const reason = `${NATS_SOURCE_ERRORS.TC_NATS_BAD_MESSAGE}: stream ${this.config.stream} sequence ${m.seq} (subject ${m.subject}): ${decoded.error}`;
        this.ctx.deadLetter([rawMessageEvent(this.config.stream, m)], [{ index: 0, reason }], reason);
        this.badMessages.inc();
      } else if (decoded.events > 0) {
        batches.push({ data: decoded.data, origin: originOf(this.config.stream, m) });
      }
      fresh.push(m.seq);
    }
    if (fresh.length > 0) {
      const { set, forgotten } = this.committed.with(fresh, this.config.max_remembered);
      if (forgotten > 0) {
        this.log.warn('forgotten', { forgotten, max_remembered: this.config.max_remembered }, 'committed sequences above the acknowledgement floor exceed max_remembered; the oldest are forgotten');
      }
      // Keep the messages alive while emit waits for queue room (the back-pressure point).
      const keepAlive = setInterval(() => msgs.forEach((m) => m.working()), Math.max(500, this.config.ack_wait / 3));
      try {
        await this.ctx.emitEncoded(batches, set.toCheckpoint());
      } catch (err) {
        // Not committed: let JetStream hand them to a gateway that can take them.
        for (const m of msgs) m.nak();
        throw err;
      } finally {
        clearInterval(keepAlive);
      }
      this.committed = set;
    }
    // Committed (now or before): acknowledge, and wait for the server to confirm each
    // acknowledgement, sending it again until it does. A fire-and-forget ack lost with a NATS
    // node would make JetStream redeliver the message after ack_wait, to another gateway, which
    // writes it again (the stores drop that copy by its upstream identity, but only within
    // their deduplication windows: docs/scaling.md, "What happens when").
    await Promise.all(msgs.map((m) => this.confirmAck(m)));
    this.acked.inc(msgs.length);
    if (skipped > 0) this.skipped.inc(skipped);
  }

  private async confirmAck(m: JsMsg): Promise<void> {
    const deadline = Date.now() + 2 * this.config.ack_wait;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        const nc = this.nc;
        if (!nc) throw new Error('not connected');
        // The ack subject ($JS.ACK.<stream>.<consumer>...) is the message's reply subject; the
        // client's JsMsg type does not declare it, its implementation has it.
        await nc.request((m as JsMsg & { reply: string }).reply, ACK, { timeout: Math.min(this.config.request_timeout, 5000) });
        return;
      } catch (err) {
        // Give up only when the message would have been redelivered anyway: this gateway
        // recognises it if it comes back here.
        if (this.stopping.signal.aborted || Date.now() > deadline) {
          this.log.warn('ack', { seq: m.seq, error: (err as Error).message }, 'acknowledgement not confirmed; JetStream may redeliver the message');
          return;
        }
        await sleep(wait, this.stopping.signal);
      }
    }
  }

  private async readFloor(): Promise<void> {
    if (Date.now() - this.floorReadAt < FLOOR_EVERY_MS) return;
    this.floorReadAt = Date.now();
    const info = await (this.consumer as Consumer).info();
    this.committed = this.committed.prunedTo(info.ack_floor.stream_seq);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    const nc = this.nc;
    this.nc = this.consumer = this.js = undefined;
    if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
  }
}
