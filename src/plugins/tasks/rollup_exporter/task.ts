/**
 * The exporter as a task: no inputs and no queue; it runs its own loop from `start()` to `stop()`
 * (not the runtime's schedule: a cycle that fell behind runs again at once). A cycle that fails is logged (rate-limited), counted in
 * `thermocline_component_errors_total{error_type="cycle"}`, and simply run again at the next
 * interval: the watermark did not move, so nothing is skipped. While it is behind (backfill,
 * downtime) cycles run back to back.
 */
import { type ComponentContext, RateLimitedLog, sleep, type TaskInstance } from '../../../index.js';
import type { CaggExporterConfig } from './config.js';
import { type Endpoints, checkNamedSinks, resolveEndpoints } from './endpoints.js';
import { RollupExporter, describeFailure } from './exporter.js';
import { checkClickHouseSchema, checkPostgresSchema } from './schema.js';

const FIRST_CYCLE_DELAY_MS = 5000;

export function createExporterTask(config: CaggExporterConfig, ctx: ComponentContext): TaskInstance {
  // The named sinks were created first (`uses`) and provide their connections: a name that is
  // not a sink of the right type is a configuration error the agent does not start with.
  checkNamedSinks({ postgres: config.postgres, clickhouse: config.clickhouse, use: ctx.use });
  const endpoints: Endpoints = resolveEndpoints({
    postgres: config.postgres,
    clickhouse: config.clickhouse,
    dataDir: ctx.dataDir,
    logger: ctx.logger,
    use: ctx.use,
    applicationName: `thermocline ${ctx.id}`,
  });
  const exporter = new RollupExporter({
    id: ctx.id,
    latenessMs: config.lateness,
    maxRowsPerCycle: config.max_rows_per_cycle,
    endpoints,
    state: ctx.state,
    logger: ctx.logger,
    metrics: ctx.metrics,
  });
  const errors = new RateLimitedLog(ctx.logger);
  const stopping = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stopping.signal]);
  let loop: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  const run = async () => {
    // Not at once: `thermocline validate --healthchecks` starts and stops every component, and should not
    // set an export going; the sinks the exporter names also get a moment to finish starting.
    if (!(await sleep(Math.min(config.interval, FIRST_CYCLE_DELAY_MS), signal))) return;
    let failing = false;
    while (!signal.aborted) {
      let behind = false;
      try {
        const report = await exporter.runCycle(signal);
        // A cycle runs to the closed limit it saw when it began; one that took longer than the
        // interval (a backfill) left newly closed buckets behind: go again at once.
        behind = report.elapsedMs >= config.interval;
        if (failing) ctx.logger.info('rollup export recovered');
        failing = false;
      } catch (err) {
        if (signal.aborted) break;
        failing = true;
        ctx.metrics.error('cycle');
        const { code, message } = describeFailure(err);
        errors.error(`cycle:${code}`, { err: { message, code } }, `rollup export failed, retrying in ${config.interval / 1000} s (the watermark did not move): ${message}`);
      }
      if (!behind && !(await sleep(config.interval, signal))) break;
    }
  };

  return {
    async start() {
      // Connect now, so that an unreachable database shows as a failed start (retried by the
      // runtime) rather than a running component that never exports.
      await Promise.all([endpoints.postgres(), endpoints.clickhouse()]);
      loop ??= run();
    },
    /**
     * Both connections and both tables. A failure at start marks the component degraded, which
     * (for lack of an engine hook, README) stays until a restart even after the cycles recover.
     */
    async healthcheck() {
      const [pg, ch] = await Promise.all([endpoints.postgres(), endpoints.clickhouse()]);
      await checkPostgresSchema(pg);
      await checkClickHouseSchema(ch);
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await loop;
        await endpoints.release();
      })();
      return stopped;
    },
  };
}
