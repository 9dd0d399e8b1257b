import { type BusinessEvent, defineSink, type LogEvent, RateLimitedLog, type TelemetryEvent } from '../../../index.js';
import { otlpSinkConfig } from './config.js';
import { encodeLogs } from './encode/logs.js';
import { encodeMetrics } from './encode/metrics.js';
import { splitBySignal } from './encode/signals.js';
import { encodeTraces } from './encode/traces.js';
import { OTLP_SINK_ERRORS } from './errors.js';
import { Sender, type Signal } from './sender.js';

/**
 * Forwards events to an OTLP/HTTP receiver (protobuf, gzip): how an edge agent hands its data to
 * a gateway. The runtime retries what fails, honouring the receiver's `Retry-After`.
 */
export default defineSink({
  type: 'otlp_http',
  summary: 'Sends events to an OTLP/HTTP receiver (a gateway or an OpenTelemetry Collector) as protobuf.',
  errors: OTLP_SINK_ERRORS,
  config: otlpSinkConfig,
  example: { endpoint: 'http://127.0.0.1:4318' },
  batch: { max_events: 5000, max_bytes: 4 * 1024 * 1024, timeout_secs: 1 },
  create(config, ctx) {
    let sender: Sender | undefined;
    const log = new RateLimitedLog(ctx.logger);
    const partial = ctx.metrics.counter('partial_rejected_total', 'Items the receiver reported as rejected in a partial success.');

    /** Send one signal; a 413 splits the items in halves until each part fits. */
    async function sendSplitting<T>(signal: Signal, items: T[], encode: (items: T[]) => Uint8Array): Promise<void> {
      if (items.length === 0) return;
      try {
        const result = await (sender as Sender).send(signal, encode(items));
        if (result.rejected > 0 || result.message) {
          partial.inc(result.rejected);
          ctx.metrics.dropped(result.rejected, 'rejected_by_receiver');
          log.warn(`partial:${signal}`, { signal, rejected: result.rejected }, `the receiver rejected ${result.rejected} ${signal} item(s): ${result.message}`);
        }
      } catch (err) {
        if (!(sender as Sender).isTooLarge(err) || items.length < 2) throw err;
        const mid = Math.ceil(items.length / 2);
        await sendSplitting(signal, items.slice(0, mid), encode);
        await sendSplitting(signal, items.slice(mid), encode);
      }
    }

    return {
      async start() {
        sender ??= new Sender(config);
      },
      async write(events: TelemetryEvent[]) {
        sender ??= new Sender(config);
        const { spans, logs, business, metrics } = splitBySignal(events);
        await sendSplitting('traces', spans, encodeTraces);
        const logItems: Array<LogEvent | BusinessEvent> = [...logs, ...business];
        await sendSplitting('logs', logItems, (items) =>
          encodeLogs(
            items.filter((i): i is LogEvent => i.kind === 'log'),
            items.filter((i): i is BusinessEvent => i.kind === 'event'),
          ),
        );
        await sendSplitting('metrics', metrics, encodeMetrics);
      },
      async stop() {
        await sender?.close();
        sender = undefined;
      },
      async healthcheck() {
        sender ??= new Sender(config);
        // An empty export is a valid request: it proves reachability and credentials without data.
        await sender.send('traces', new Uint8Array());
      },
    };
  },
});
