import { blackholeConfig } from './config.js';
import { defineSink } from '../../../index.js';


/** Accepts and discards everything: for benchmarks and for measuring the rest of a pipeline. */
export default defineSink({
  type: 'blackhole',
  summary: 'Discards every event, counting them.',
  config: blackholeConfig,
  example: { print_interval_secs: 0 },
  batch: { max_events: 10_000, timeout_secs: 0.1 },
  create(config, ctx) {
    let events = 0;
    let timer: NodeJS.Timeout | undefined;
    return {
      async start() {
        if (config.print_interval_secs > 0) {
          timer = setInterval(() => ctx.logger.info({ events }, 'blackhole totals'), config.print_interval_secs * 1000);
          timer.unref();
        }
      },
      async write(batch) {
        events += batch.length;
      },
      // Counting needs no events: the runner then skips decoding, so a pipeline measured into a
      // blackhole pays only for what comes before it.
      async writeEncoded(batches) {
        for (const b of batches) events += b.events;
      },
      async stop() {
        clearInterval(timer);
      },
    };
  },
});
