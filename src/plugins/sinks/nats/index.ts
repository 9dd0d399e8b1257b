import { defineSink, type EncodedBatch, type SinkInstance, type TelemetryEvent, type WriteMeta, type WriteResult } from '../../../index.js';
import { natsSinkConfig } from './config.js';
import { natsConnectionIssues } from './connection.js';
import { NATS_ERRORS } from './errors.js';
import { planEncoded, planMessages, type Planned } from './messages.js';
import { Publisher } from './publisher.js';
import { placeholders, subjectIssues, subjectResolver } from './subjects.js';

/**
 * Publishes queued batches to a JetStream stream and acknowledges the local queue only after the
 * stream acknowledged every message; `Nats-Msg-Id` is the delivery token, so a replay after a
 * crash is dropped by the stream's duplicate window (docs/scaling.md).
 */
export default defineSink({
  type: 'nats',
  summary: "Publishes batches to a NATS JetStream stream, exactly once through the stream's duplicate window.",
  config: natsSinkConfig,
  errors: NATS_ERRORS,
  example: { servers: ['nats://127.0.0.1:4222'], subject: 'telemetry.{kind}' },
  // Several messages a delivery, published in parallel: one message at a time waits a PubAck per
  // message (measured with bench/nats.ts: 20,000 events a delivery took the pipeline from 2.1-2.7
  // to 1.6 s for 400,000 events).
  batch: { max_events: 20_000, max_bytes: 4 * 1024 * 1024, timeout_secs: 0.2 },
  validate(config) {
    return [...natsConnectionIssues(config), ...subjectIssues(config)];
  },
  create(config, ctx) {
    const subjectOf = subjectResolver(config);
    const duplicates = ctx.metrics.counter('duplicates_total', 'Messages the stream dropped as already stored (a replayed delivery).');
    const messages = ctx.metrics.counter('messages_total', 'Messages published and acknowledged by JetStream.');
    let publisher: Publisher | undefined;
    const send = async (plan: (limit: number) => Planned): Promise<WriteResult | void> => {
      publisher ??= new Publisher(config, ctx);
      await publisher.ready();
      const limit = publisher.limit();
      const planned = plan(limit);
      const result = await publisher.publish(planned.messages);
      messages.inc(planned.messages.length);
      duplicates.inc(result.duplicates);
      if (planned.tooLarge.length > 0) {
        const reason = `${NATS_ERRORS.TC_NATS_EVENT_TOO_LARGE}: the event alone exceeds the message limit of ${limit} bytes`;
        return { rejected: planned.tooLarge.map((index) => ({ index, reason })) };
      }
    };
    // The queue's batches are already messages of the `batch` format; with one subject for all
    // of them they are published as queued, and the runner does not decode them at all.
    const asQueued = config.format === 'batch' && placeholders(config.subject).length === 0;
    const instance: SinkInstance = {
      async start() {
        // Connecting waits for the health check or the first write: a cluster that is down at
        // start must not hold the agent up, and the runtime marks the sink degraded with the
        // classified error while its queue grows.
        publisher ??= new Publisher(config, ctx);
      },
      write(events: TelemetryEvent[], meta: WriteMeta): Promise<WriteResult | void> {
        return send((limit) => planMessages(events, subjectOf, config.format, limit, meta.delivery));
      },
      ...(asQueued
        ? {
            writeEncoded(batches: readonly EncodedBatch[], meta: WriteMeta): Promise<WriteResult | void> {
              return send((limit) => planEncoded(batches, config.subject, limit, meta.delivery));
            },
          }
        : {}),
      async stop() {
        await publisher?.close();
        publisher = undefined;
      },
      async healthcheck() {
        publisher ??= new Publisher(config, ctx);
        await publisher.healthcheck();
      },
    };
    return instance;
  },
});
