import { Runtime } from '../core/runtime/runtime.js';
import { createLogger } from '../core/runtime/logger.js';
import { errorMessage } from '../core/errors.js';
import { configPath, EXIT_CONFIG, EXIT_FAILURE, loadOrExplain } from './config.js';
import type { LoadedConfig } from '../core/config/load.js';
import { ResourceRegistry } from '../core/plugin/resource.js';
import type { ComponentContext, SinkPlugin } from '../core/plugin/types.js';
import { MetricsRegistry } from '../core/telemetry/metrics.js';
import { withDeadline } from '../core/runtime/timing.js';

/**
 * `thermocline validate`: schema and topology checks without network I/O (docs/operations.md#validating-a-configuration).
 * Checking a custom plugin's options means importing its module, which runs its code; with
 * `plugins: 'skip'` (`--no-plugins`, for configs from untrusted hands) nothing is imported and the
 * components of custom types are listed as not checked. With `--healthchecks` it also creates
 * each sink and runs its health check, which dials the database.
 */
export async function validateCommand(flags: { config?: string; healthchecks: boolean; plugins?: 'load' | 'skip' }): Promise<number> {
  const file = configPath(flags.config);
  const config = await loadOrExplain(file, { plugins: flags.plugins });
  if (!config) return EXIT_CONFIG;
  const counts = (k: string) => config.components.filter((c) => c.kind === k).length;
  for (const w of config.warnings) console.log(`warning: ${w}`);
  for (const u of config.unchecked) console.log(`not checked: ${u.path} (type "${u.type}"): its plugin comes from [plugins] load, which --no-plugins does not import`);
  const unchecked = config.unchecked.length > 0 ? `; ${config.unchecked.length} not checked` : '';
  console.log(`${file}: valid (${counts('source')} sources, ${counts('transform')} transforms, ${counts('sink')} sinks${unchecked})`);
  if (!flags.healthchecks) return 0;
  return (await runHealthchecks(config)) ? 0 : EXIT_FAILURE;
}

async function runHealthchecks(config: LoadedConfig): Promise<boolean> {
  void Runtime; // the runtime is not started: only sinks are created, in start order
  const logger = createLogger({ level: 'warn', secrets: config.secrets });
  const metrics = new MetricsRegistry({ processMetrics: false });
  const published = new Map<string, unknown>();
  const resources = new ResourceRegistry();
  let ok = true;
  const started: Array<{ stop?: () => Promise<void> }> = [];
  for (const node of config.topology.startOrder()) {
    const spec = config.components.find((c) => c.id === node.id);
    if (!spec || spec.kind !== 'sink') continue;
    const plugin = spec.plugin as SinkPlugin;
    const controller = new AbortController();
    const ctx: ComponentContext = {
      id: spec.id,
      kind: 'sink',
      type: spec.type,
      logger: logger.child({ component_id: spec.id }),
      metrics: metrics.forComponent(spec.id, 'sink', spec.type),
      dataDir: config.dataDir,
      state: { get: () => undefined, set: () => undefined, delete: () => undefined },
      signal: controller.signal,
      provide: (key, value) => resources.provide(spec.id, key, value),
      use: (key, from) => resources.use(key, from),
      publish: (v) => published.set(spec.id, v),
      lookup: (id) => published.get(id),
    };
    const label = `sinks.${spec.id} (${spec.type})`;
    try {
      const instance = plugin.create(spec.options as never, ctx);
      started.push({ stop: instance.stop?.bind(instance) });
      const finished = await withDeadline(async () => {
        await instance.start?.();
        await instance.healthcheck?.();
      }, 60_000);
      if (!finished) throw new Error('health check did not finish within 60 s');
      console.log(`ok      ${label}${instance.healthcheck ? '' : ' (no health check; created and started)'}`);
    } catch (err) {
      ok = false;
      console.log(`FAILED  ${label}: ${errorMessage(err)}`);
    }
  }
  for (const s of started.reverse()) await s.stop?.().catch(() => undefined);
  return ok;
}
