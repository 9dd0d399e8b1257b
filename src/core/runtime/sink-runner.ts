import type { Logger } from 'pino';
import type { BatchMeta, DeliveryRange, SinkQueue } from '../buffer/queue.js';
import type { DeadLetterInput } from '../buffer/store.js';
import { decodeBatch, encodeBatch, verifyBatch } from '../codec/batch.js';
import { Delivery } from '../delivery.js';
import type { RetryConfig } from '../config/schema.js';
import { errorMessage, PermanentError, RetryableError } from '../errors.js';
import type { TelemetryEvent } from '../events.js';
import type { BatchDefaults, EncodedBatch, SinkInstance, WriteMeta, WriteResult } from '../plugin/types.js';
import type { ComponentMetrics, MetricsRegistry } from '../telemetry/metrics.js';
import { RateLimitedLog } from './logger.js';
import type { ComponentStatus } from './status.js';
import { aborted, backoffMs, raceTimeout, sleep } from './timing.js';

export interface SinkRunnerOptions {
  id: string;
  /** The queue database's instance id, part of every delivery's identity. */
  instance: string;
  instanceOf: SinkInstance;
  queue: SinkQueue;
  batch: BatchDefaults;
  retry: RetryConfig;
  logger: Logger;
  metrics: ComponentMetrics;
  registry: MetricsRegistry;
  status: ComponentStatus;
}

type Outcome = { kind: 'delivered'; result: WriteResult | void } | { kind: 'dead'; error: string } | { kind: 'stopped' };

/** A delivery read (and decoded, unless the sink takes it encoded), ready to write. */
interface Prepared {
  range: DeliveryRange;
  metas: BatchMeta[];
  /** Events in the delivery (without the undecodable batches). */
  count: number;
  /** The events, decoded: for `write`. */
  events?: TelemetryEvent[];
  /** The batches as queued, checked: for `writeEncoded`. */
  encoded?: EncodedBatch[];
  bytes: number;
  /** Queued batches that could not be decoded: dead-lettered with the delivery's ack. */
  undecodable: DeadLetterInput[];
  /** The upstream identity of the one batch delivered, if it has one. */
  origin?: string;
}

/** The events of a delivery, decoding them only now for a sink that took them encoded. */
function eventsOf(p: Prepared): TelemetryEvent[] {
  p.events ??= (p.encoded ?? []).flatMap((b) => decodeBatch(b.data));
  return p.events;
}

/**
 * Reads a sink's queue in order and delivers it (docs/delivery.md#how). A delivery may merge several
 * queued batches; its range is pinned in the queue database before the first attempt, so a replay
 * after a crash covers exactly the same batches and carries the same identity. Only after the sink
 * resolves is the range removed. The runner owns retry and backoff; sinks only classify
 * (docs/plugins.md#sinks).
 *
 * While a write is in flight, the next full delivery is read and decoded, so that work overlaps
 * the destination's (measured by the postgres sink: ~1 µs per point that otherwise sat between
 * COPYs). At most two deliveries are held in memory.
 */
export class SinkRunner {
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly log: RateLimitedLog;
  /** For memory buffers the runner keeps delivering after stop until the deadline. */
  private draining = false;

  constructor(private readonly o: SinkRunnerOptions) {
    this.log = new RateLimitedLog(o.logger);
  }

  start(): void {
    this.loop ??= this.supervise();
  }

  /**
   * Runs the delivery loop until stop. An error the loop did not expect (the queue database
   * answering SQLITE_BUSY, an I/O error) restarts it after a backoff instead of ending the sink:
   * the pinned range and the queue are on disk, so the restarted loop picks up where it was
   * (docs/delivery.md#when-the-queue-database-fails).
   */
  private async supervise(): Promise<void> {
    for (let failures = 1; !this.stopped; failures++) {
      try {
        await this.run();
        return;
      } catch (err) {
        this.o.status.degrade(err);
        this.o.metrics.error('queue');
        const wait = backoffMs(failures, this.o.retry.initial_backoff_secs, this.o.retry.max_backoff_secs);
        this.log.error('loop', { err: { message: errorMessage(err), code: (err as { code?: string }).code }, retry_in_ms: wait }, `sink delivery loop failed, restarting it: ${errorMessage(err)}`);
        if (!(await sleep(wait, this.stopController.signal))) return;
      }
    }
  }

  /** Stop after the delivery in flight. Memory queues drain first, until `drainSignal` aborts. */
  async stop(drainSignal?: AbortSignal): Promise<void> {
    if (this.o.queue.options.type === 'memory' && drainSignal && !drainSignal.aborted) {
      this.draining = true;
      drainSignal.addEventListener('abort', () => this.stopController.abort(), { once: true });
    } else {
      this.stopController.abort();
    }
    this.o.queue.wakeAll();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    const { queue } = this.o;
    let next: Prepared | undefined;
    while (!this.stopped) {
      if (queue.batches === 0) {
        next = undefined;
        if (this.draining) break;
        await Promise.race([queue.whenData(), aborted(this.stopController.signal)]);
        continue;
      }
      const pinned = queue.pinned();
      let prepared: Prepared;
      if (pinned) {
        prepared = next && next.range.first === pinned.first && next.range.last === pinned.last ? next : this.prepare(pinned);
      } else if (next) {
        prepared = next;
      } else {
        const range = await this.chooseRange();
        if (!range || this.stopped) continue;
        prepared = this.prepare(range);
      }
      next = undefined;
      if (!pinned) queue.pin(prepared.range);
      next = await this.deliver(prepared);
    }
  }

  /** Oldest batches up to the batch limits, waiting up to `timeout_secs` for a fuller batch. */
  private async chooseRange(): Promise<DeliveryRange | undefined> {
    const { queue, batch } = this.o;
    for (;;) {
      const pick = this.pick(queue.head(Math.min(batch.max_events, 10_000)));
      if (!pick) return undefined;
      if (pick.full || pick.waitMs <= 0 || this.stopped || this.draining) return pick.range;
      await raceTimeout(pick.waitMs, queue.whenAppended(), aborted(this.stopController.signal));
    }
  }

  /** The range a delivery would cover from `metas`, whether it is full, and how long it may still wait. */
  private pick(metas: BatchMeta[]): { range: DeliveryRange; full: boolean; waitMs: number } | undefined {
    const { batch } = this.o;
    const first = metas[0];
    if (!first) return undefined;
    // A batch with an upstream identity is delivered alone, under that identity; merged with
    // others, the delivery would differ from what another agent makes of the same batch.
    if (typeof first.origin === 'string') return { range: { first: first.seq, last: first.seq }, full: true, waitMs: 0 };
    let events = 0;
    let bytes = 0;
    let last = first.seq;
    for (const m of metas) {
      if (typeof m.origin === 'string') break;
      if (events > 0 && (events + m.events > batch.max_events || bytes + m.bytes > batch.max_bytes)) break;
      events += m.events;
      bytes += m.bytes;
      last = m.seq;
    }
    const full = events >= batch.max_events || bytes >= batch.max_bytes || last !== (metas[metas.length - 1] as BatchMeta).seq;
    return { range: { first: first.seq, last }, full, waitMs: first.createdUs / 1000 + batch.timeout_secs * 1000 - Date.now() };
  }

  /** Read a range, and decode it unless the sink takes batches as queued. */
  private prepare(range: DeliveryRange): Prepared {
    const payloads = this.o.queue.payloads(range);
    const encoded = this.o.instanceOf.writeEncoded !== undefined;
    const metas: BatchMeta[] = [];
    const events: TelemetryEvent[] = [];
    const batches: EncodedBatch[] = [];
    const undecodable: DeadLetterInput[] = [];
    let bytes = 0;
    let count = 0;
    let origin: string | undefined;
    for (const p of payloads) {
      metas.push({ seq: p.seq, events: p.events, bytes: p.bytes, createdUs: p.createdUs });
      if (typeof p.origin === 'string') origin = p.origin;
      bytes += p.bytes;
      try {
        if (encoded) {
          // A batch read from memory was checked, or made, by this process moments ago.
          const n = p.verified === true ? p.events : verifyBatch(p.data);
          batches.push({ data: p.data, events: n });
          count += n;
        } else {
          const decoded = decodeBatch(p.data);
          for (const e of decoded) events.push(e);
          count += decoded.length;
        }
      } catch (err) {
        // A batch we cannot read is kept for inspection rather than blocking the queue forever.
        undecodable.push({ sink: this.o.id, seq: p.seq, error: `undecodable queued batch: ${errorMessage(err)}`, events: p.events, data: p.data });
        this.o.metrics.error('decode');
      }
    }
    // A pinned range with an origin covers that batch alone (pick), so one origin names it.
    return { range, metas, count, ...(encoded ? { encoded: batches } : { events }), bytes, undecodable, ...(origin === undefined ? {} : { origin }) };
  }

  /**
   * The next delivery after `last`, if one is ready now (full, or due); read while a write is in
   * flight, and handed to a sink that prepares deliveries ahead (`prepareEncoded`).
   */
  private prefetchAfter(last: number): Prepared | undefined {
    if (this.stopped) return undefined;
    const pick = this.pick(this.o.queue.headAfter(last, Math.min(this.o.batch.max_events, 10_000)));
    const next = pick && (pick.full || pick.waitMs <= 0) ? this.prepare(pick.range) : undefined;
    const sink = this.o.instanceOf;
    if (next?.encoded && next.count > 0 && sink.prepareEncoded) {
      try {
        sink.prepareEncoded(next.encoded, this.deliveryOf(next));
      } catch (err) {
        // A hint only: the write prepares the delivery itself.
        this.log.warn('prepare', { err: { message: errorMessage(err) }, seq: next.range.first }, `preparing the next delivery failed; it is prepared when written: ${errorMessage(err)}`);
      }
    }
    return next;
  }

  /** The identity a delivery is written under: the same for every attempt and every replay. */
  private deliveryOf(p: Prepared): Delivery {
    return new Delivery(this.o.id, this.o.instance, p.range.first, p.range.last, p.origin);
  }

  /** Write, then acknowledge; returns the next delivery if it was prefetched meanwhile. */
  private async deliver(p: Prepared): Promise<Prepared | undefined> {
    const { id, metrics } = this.o;
    const writing = p.count === 0 ? Promise.resolve<Outcome>({ kind: 'delivered', result: undefined }) : this.attempt(p);
    // Read ahead only after the write's first requests have left: reading and decoding the next
    // delivery at once would hold them back while the destination sits idle (measured on the
    // postgres sink: 10-35 ms per 20,000-point delivery).
    const reading = new Promise<Prepared | undefined>((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(this.prefetchAfter(p.range.last));
        } catch (err) {
          reject(err as Error);
        }
      }),
    );
    // Awaited below; this only keeps a failed read from counting as unhandled if the write throws.
    reading.catch(() => undefined);
    const outcome = await writing;
    const next = await reading;
    if (outcome.kind === 'stopped') return undefined;
    const deadLetters = [...p.undecodable];
    if (outcome.kind === 'dead') {
      // A single batch taken encoded is dead-lettered as queued; anything else is encoded anew.
      const single = p.encoded?.length === 1 ? p.encoded[0] : undefined;
      deadLetters.push({ sink: id, seq: p.range.first, error: outcome.error, events: p.count, data: single ? Buffer.from(single.data) : Buffer.from(encodeBatch(eventsOf(p))) });
      metrics.dropped(p.count, 'dead_letter');
    } else {
      const rejected = outcome.result?.rejected ?? [];
      if (rejected.length > 0) {
        const rows = rejected.map((r, i) => ({ index: i, reason: r.reason }));
        const all = eventsOf(p);
        const bad = rejected.map((r) => all[r.index]).filter((e): e is TelemetryEvent => e !== undefined);
        deadLetters.push({ sink: id, seq: p.range.first, error: `${rejected.length} row(s) rejected by the destination`, events: bad.length, data: Buffer.from(encodeBatch(bad)), rows });
        metrics.dropped(bad.length, 'dead_letter');
      }
      metrics.sent(p.count - rejected.length, p.bytes);
      const now = Date.now();
      for (const m of p.metas) this.o.registry.deliveryLatency.observe({ component_id: id }, Math.max(0, now - m.createdUs / 1000) / 1000);
    }
    await this.acknowledge(p, deadLetters);
    return next;
  }

  /**
   * Removes a written delivery from the queue, retrying with backoff until the queue database
   * accepts it (a full disk, SQLITE_BUSY). The delivery stays in memory meanwhile and is never
   * written again while the agent runs; only a restart before the acknowledgement lands replays
   * it, under the same identity, which the destination recognises.
   */
  private async acknowledge(p: Prepared, deadLetters: DeadLetterInput[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.o.queue.ack(p.range, p.metas, deadLetters);
        if (attempt > 1) {
          this.o.status.ok();
          this.o.logger.info({ attempts: attempt, seq: p.range.first }, 'acknowledgement recovered');
        }
        return;
      } catch (err) {
        this.o.status.degrade(err);
        this.o.metrics.error('ack');
        const wait = backoffMs(attempt, this.o.retry.initial_backoff_secs, this.o.retry.max_backoff_secs);
        this.log.error('ack', { err: { message: errorMessage(err), code: (err as { code?: string }).code }, seq: p.range.first, attempt, retry_in_ms: wait }, `delivered, but the queue database refused the acknowledgement; retrying it (the batch is not sent again): ${errorMessage(err)}`);
        if (!(await sleep(wait, this.stopController.signal))) return;
      }
    }
  }

  private async attempt(p: Prepared): Promise<Outcome> {
    const { instanceOf, retry, metrics, status, logger } = this.o;
    const { range } = p;
    const delivery = this.deliveryOf(p);
    const write = (meta: WriteMeta) => (p.encoded && instanceOf.writeEncoded ? instanceOf.writeEncoded(p.encoded, meta) : instanceOf.write(eventsOf(p), meta));
    let unclassified = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await write({ delivery, attempt });
        if (attempt > 1) logger.info({ attempts: attempt, seq: range.first }, 'delivery recovered');
        status.ok();
        return { kind: 'delivered', result };
      } catch (err) {
        const message = errorMessage(err);
        if (err instanceof PermanentError) {
          metrics.error('permanent');
          this.log.error('permanent', { err, seq: range.first, events: p.count, code: err.code }, `batch rejected permanently and moved to the dead-letter table: ${message}`);
          return { kind: 'dead', error: message };
        }
        if (!(err instanceof RetryableError)) {
          unclassified++;
          metrics.error('unclassified');
          if (unclassified >= retry.max_unclassified_attempts) {
            this.log.error('unclassified-dead', { err, seq: range.first, attempts: unclassified }, `sink kept failing with an unclassified error; batch moved to the dead-letter table: ${message}`);
            return { kind: 'dead', error: message };
          }
        } else {
          metrics.error('retryable');
        }
        status.degrade(err);
        const asked = err instanceof RetryableError ? (err.retryAfterMs ?? 0) : 0;
        const wait = Math.max(asked, backoffMs(attempt, retry.initial_backoff_secs, retry.max_backoff_secs));
        this.log.warn('retry', { err: { message, code: (err as { code?: string }).code }, seq: range.first, attempt, retry_in_ms: wait }, `delivery failed, retrying: ${message}`);
        if (!(await sleep(wait, this.stopController.signal))) return { kind: 'stopped' };
      }
    }
  }
}
