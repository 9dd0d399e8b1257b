import type { QueueStore } from '../buffer/store.js';
import type { ComponentSpec } from '../config/load.js';
import { CORE_ERRORS, errorMessage, ThermoclineError } from '../errors.js';
import type { ResourceRegistry } from '../plugin/resource.js';
import type { ComponentContext } from '../plugin/types.js';
import type { ComponentMetrics } from '../telemetry/metrics.js';
import type { Supervisor } from './supervisor.js';

export interface ContextDeps {
  metrics: ComponentMetrics;
  dataDir: string;
  store: QueueStore;
  /** Untyped values components publish (deprecated), by component id. */
  published: Map<string, unknown>;
  resources: ResourceRegistry;
}

/** What every component receives from the runtime (src/core/plugin/types.ts). */
export function componentContext(spec: ComponentSpec, supervisor: Supervisor, deps: ContextDeps): ComponentContext {
  const { store, published, resources } = deps;
  const id = spec.id;
  return {
    id,
    kind: spec.kind,
    type: spec.type,
    logger: supervisor.logger,
    metrics: deps.metrics,
    dataDir: deps.dataDir,
    state: {
      get: (key) => store.getState(id, key),
      set: (key, value) => store.setState(id, key, value),
      delete: (key) => store.deleteState(id, key),
    },
    signal: supervisor.signal,
    provide: (key, value) => resources.provide(id, key, value),
    use: (key, from) => resources.use(key, from),
    publish: (value) => published.set(id, value),
    lookup: (other) => published.get(other),
  };
}

/** Calls a plugin's `create`; what it throws fails the start with the component named. */
export function createInstance<T>(spec: ComponentSpec, make: () => T): T {
  try {
    return make();
  } catch (err) {
    throw new ThermoclineError(CORE_ERRORS.TC_PLUGIN_CREATE, `${spec.kind}s.${spec.id} (type "${spec.type}") failed to start: ${errorMessage(err)}`, { cause: err });
  }
}
