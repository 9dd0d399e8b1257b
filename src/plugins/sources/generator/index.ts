import { defineSource, ShutdownError, sleep, type TelemetryEvent } from '../../../index.js';
import { generatorConfig } from './config.js';
import { Synthesizer } from './synth.js';

/** The longest a due event waits for its batch to fill. */
const MAX_BATCH_WAIT_MS = 100;

/**
 * Synthetic logs, metrics and spans at a set rate, for demos, benchmarks and crash tests. Its
 * checkpoint is the next sequence number, committed with each batch, so a restarted generator
 * continues exactly where the durable queue stands.
 */
export default defineSource({
  type: 'generator',
  summary: 'Generates synthetic logs, metrics and spans at a set rate.',
  config: generatorConfig,
  example: { rate: 10 },
  create(config, ctx) {
    const synth = new Synthesizer(config);
    let running: Promise<void> | undefined;
    const stop = new AbortController();

    const next = (): number => {
      const cp = ctx.checkpoint;
      return typeof cp === 'object' && cp !== null && !Array.isArray(cp) && typeof cp.next === 'number' ? cp.next : 0;
    };

    async function loop(): Promise<void> {
      let seq = next();
      const started = Date.now();
      const startSeq = seq;
      // The first event goes out at once.
      let lastEmit = started - MAX_BATCH_WAIT_MS;
      while (!stop.signal.aborted) {
        if (config.count !== undefined && seq >= config.count) {
          ctx.logger.info({ count: config.count }, 'generator: all events generated; the agent keeps running until it is stopped');
          return;
        }
        let n = config.batch_size;
        if (config.rate > 0) {
          // Emit what is due once a whole batch is, or at the latest MAX_BATCH_WAIT_MS after the
          // last emit: emitting each event as it fell due made a commit per event (at 1,000
          // events/s, 41 % of a core: docs/performance.md#steady-memory).
          const elapsed = Date.now() - started;
          const due = startSeq + Math.floor((elapsed / 1000) * config.rate) + 1; // seqs below are due
          n = Math.min(config.batch_size, due - seq);
          const lateAt = lastEmit - started + MAX_BATCH_WAIT_MS;
          if (n <= 0 || (n < config.batch_size && elapsed < lateAt)) {
            const nextDueAt = ((seq - startSeq) / config.rate) * 1000;
            const fullAt = ((seq + config.batch_size - 1 - startSeq) / config.rate) * 1000;
            await sleep(Math.max(1, Math.min(fullAt, Math.max(lateAt, nextDueAt)) - elapsed), stop.signal);
            continue;
          }
        }
        if (config.count !== undefined) n = Math.min(n, config.count - seq);
        const now = Date.now() * 1000;
        const events: TelemetryEvent[] = new Array(n);
        for (let i = 0; i < n; i++) events[i] = synth.make(seq + i, now);
        try {
          await ctx.emit(events, { next: seq + n });
        } catch (err) {
          if (err instanceof ShutdownError) return;
          throw err;
        }
        seq += n;
        lastEmit = Date.now();
        if (config.rate === 0) await new Promise((r) => setImmediate(r));
      }
    }

    return {
      async start() {
        running = loop().catch((err: unknown) => ctx.logger.error({ err }, 'generator stopped on error'));
      },
      async stop() {
        stop.abort();
        await running;
      },
    };
  },
});
