import { defineTransform } from '../../../index.js';
import { routeConfig, UNMATCHED } from './config.js';
import { compileRoutes, createSplitter } from './split.js';

/**
 * Sends each event to the named outputs whose matchers it satisfies (README.md):
 * `<id>.<route>` per route and `<id>._unmatched` for the rest. Matchers compile once, in
 * `validate` for the offline check and again in `create`.
 */
export default defineTransform({
  type: 'route',
  summary: 'Sends events to named outputs by declarative matchers; `_unmatched` gets the rest.',
  config: routeConfig,
  example: { route: { metrics: { kind: 'metric' }, errors: { kind: 'log', level: ['error', 'fatal'] } } },
  validate: (config) => compileRoutes(config).issues,
  outputs: (config) => [...Object.keys(config.route), UNMATCHED],
  create(config) {
    const routes = compileRoutes(config);
    // validate() ran on this config before create(); this only guards direct API use.
    if (routes.issues.length > 0) throw new Error(routes.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const split = createSplitter(routes, config.exclusive);
    return { process: split };
  },
});
