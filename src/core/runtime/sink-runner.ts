import type { Logger } from 'pino';
import type { BatchMeta, DeliveryRange, SinkQueue } from '../buffer/queue.js';
import type { DeadLetterInput } from '../buffer/store.js';
import { decodeBatch, encodeBatch } from '../codec/batch.js';
import { errorMessage, PermanentError, RetryableError } from '../errors.js';
import type { TelemetryEvent } from '../events.js';
import type { BatchDefaults, SinkInstance, WriteResult } from '../plugin/types.js';
import type { ComponentMetrics, MetricsRegistry } from '../telemetry/metrics.js';
import { RateLimitedLog } from './logger.js';
import type { ComponentStatus } from './status.js';
import { aborted, backoffMs, raceTimeout, sleep } from './timing.js';
import type { RetryConfig } from '../config/schema.js';

export interface SinkRunnerOptions {
  id: string;
  instance: SinkInstance;
  queue: SinkQueue;
  batch: BatchDefaults;
  retry: RetryConfig;
  logger: Logger;
  metrics: ComponentMetrics;
  registry: MetricsRegistry;
  status: ComponentStatus;
}

type Outcome = { kind: 'delivered'; result: WriteResult | void } | { kind: 'dead'; error: string } | { kind: 'stopped' };

/**
 * Reads a sink's queue in order and delivers it (DESIGN section 1). A delivery may merge several
 * queued batches; its range is pinned in the queue database before the first attempt, so a replay
 * after a crash covers exactly the same batches and carries the same `(sink, seq)` identity.
 * Only after the sink resolves is the range removed. The runner owns retry and backoff (STYLE 7).
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
    this.loop ??= this.run().catch((err: unknown) => {
      this.o.status.fail(err);
      this.o.logger.error({ err }, 'sink delivery loop ended unexpectedly');
    });
  }

  /** Stop after the delivery in flight. Memory queues drain first, until `signal` aborts. */
  async stop(drainSignal?: AbortSignal): Promise<void> {
    if (this.o.queue.options.type === 'memory' && drainSignal && !drainSignal.aborted) {
      this.draining = true;
      drainSignal.addEventListener('abort', () => this.stopController.abort(), { once: true });
      this.o.queue.wakeAll();
    } else {
      this.stopController.abort();
      this.o.queue.wakeAll();
    }
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    const { queue } = this.o;
    while (!this.stopped) {
      if (queue.batches === 0) {
        if (this.draining) break;
        await Promise.race([queue.whenData(), aborted(this.stopController.signal)]);
        continue;
      }
      const range = queue.pinned() ?? (await this.chooseRange());
      if (!range || this.stopped) continue;
      queue.pin(range);
      await this.deliverRange(range);
    }
  }

  /** Oldest batches up to the batch limits, waiting up to `timeout_secs` for a fuller batch. */
  private async chooseRange(): Promise<DeliveryRange | undefined> {
    const { queue, batch } = this.o;
    for (;;) {
      const metas = queue.head(Math.min(batch.max_events, 10_000));
      if (metas.length === 0) return undefined;
      let events = 0;
      let bytes = 0;
      let last = (metas[0] as BatchMeta).seq;
      for (const m of metas) {
        if (events > 0 && (events + m.events > batch.max_events || bytes + m.bytes > batch.max_bytes)) break;
        events += m.events;
        bytes += m.bytes;
        last = m.seq;
      }
      const first = (metas[0] as BatchMeta).seq;
      const full = events >= batch.max_events || bytes >= batch.max_bytes || last !== (metas[metas.length - 1] as BatchMeta).seq;
      const waitMs = (metas[0] as BatchMeta).createdUs / 1000 + batch.timeout_secs * 1000 - Date.now();
      if (full || waitMs <= 0 || this.stopped || this.draining) return { first, last };
      await raceTimeout(waitMs, queue.whenAppended(), aborted(this.stopController.signal));
    }
  }

  private async deliverRange(range: DeliveryRange): Promise<void> {
    const { queue, id, metrics } = this.o;
    const payloads = queue.payloads(range);
    const metas: BatchMeta[] = payloads.map(({ seq, events, bytes, createdUs }) => ({ seq, events, bytes, createdUs }));
    const events: TelemetryEvent[] = [];
    const deadLetters: DeadLetterInput[] = [];
    let bytes = 0;
    for (const p of payloads) {
      bytes += p.bytes;
      try {
        const decoded = decodeBatch(p.data);
        for (const e of decoded) events.push(e);
      } catch (err) {
        // A batch we cannot read is kept for inspection rather than blocking the queue forever.
        deadLetters.push({ sink: id, seq: p.seq, error: `undecodable queued batch: ${errorMessage(err)}`, events: p.events, data: p.data });
        metrics.error('decode');
      }
    }
    const outcome = events.length === 0 ? ({ kind: 'delivered', result: undefined } as const) : await this.attempt(events, range);
    if (outcome.kind === 'stopped') return;
    if (outcome.kind === 'dead') {
      for (const p of payloads) deadLetters.push({ sink: id, seq: p.seq, error: outcome.error, events: p.events, data: p.data });
      metrics.dropped(events.length, 'dead_letter');
    } else {
      const rejected = outcome.result?.rejected ?? [];
      if (rejected.length > 0) {
        const rows = rejected.map((r, i) => ({ index: i, reason: r.reason }));
        const bad = rejected.map((r) => events[r.index]).filter((e): e is TelemetryEvent => e !== undefined);
        deadLetters.push({ sink: id, seq: range.first, error: `${rejected.length} row(s) rejected by the destination`, events: bad.length, data: Buffer.from(encodeBatch(bad)), rows });
        metrics.dropped(bad.length, 'dead_letter');
      }
      metrics.sent(events.length - rejected.length, bytes);
      const now = Date.now();
      for (const m of metas) this.o.registry.deliveryLatency.observe({ component_id: id }, Math.max(0, now - m.createdUs / 1000) / 1000);
    }
    queue.ack(range, metas, deadLetters);
    const oldest = queue.head(1)[0];
    this.o.registry.checkpointLag.set({ component_id: id }, oldest ? Math.max(0, Date.now() - oldest.createdUs / 1000) / 1000 : 0);
  }

  private async attempt(events: TelemetryEvent[], range: DeliveryRange): Promise<Outcome> {
    const { instance, id, retry, metrics, status, logger } = this.o;
    let unclassified = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await instance.write(events, { sink: id, seq: range.first, lastSeq: range.last, attempt, token: `${id}:${range.first}` });
        if (attempt > 1) logger.info({ attempts: attempt, seq: range.first }, 'delivery recovered');
        status.ok();
        return { kind: 'delivered', result };
      } catch (err) {
        const message = errorMessage(err);
        if (err instanceof PermanentError) {
          metrics.error('permanent');
          this.log.error('permanent', { err, seq: range.first, events: events.length, code: err.code }, `batch rejected permanently and moved to the dead-letter table: ${message}`);
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
        const slept = await sleep(wait, this.stopController.signal);
        if (!slept) return { kind: 'stopped' };
      }
    }
  }
}
