import type { PluginIssue, TelemetryEvent } from '../../../index.js';
import { compileMatcher, type Predicate } from '../_shared/matcher.js';
import { cloneEvent } from './clone-event.js';
import { UNMATCHED, type RouteConfig } from './config.js';

/** Route names become output names (`<id>.<route>`) and metric labels: the component-id charset. */
const ROUTE_NAME = /^[A-Za-z0-9_-]+$/;

export interface CompiledRoutes {
  names: string[];
  predicates: Predicate[];
  issues: PluginIssue[];
}

/**
 * Compile every route, in the order the TOML file declares them (the `toml` parser and zod's
 * record keep insertion order; `exclusive` depends on it).
 */
export function compileRoutes(config: RouteConfig): CompiledRoutes {
  const names = Object.keys(config.route);
  const predicates: Predicate[] = [];
  const issues: PluginIssue[] = [];
  if (names.length === 0) issues.push({ path: ['route'], message: 'needs at least one route, e.g. route.errors = { kind = "log", level = "error" }' });
  for (const name of names) {
    if (name === UNMATCHED)
      issues.push({ path: ['route', name], message: `"${UNMATCHED}" is reserved for the events no route matched; choose another route name` });
    else if (!ROUTE_NAME.test(name))
      issues.push({ path: ['route', name], message: 'route names may contain only letters, digits, "_" and "-" (they become the output name `<id>.<route>`)' });
    const compiled = compileMatcher(config.route[name] as RouteConfig['route'][string], ['route', name]);
    predicates.push(compiled.predicate);
    issues.push(...compiled.issues);
  }
  return { names, predicates, issues };
}

/** Splits a batch into the named outputs. */
export function createSplitter(routes: CompiledRoutes, exclusive: boolean): (events: TelemetryEvent[]) => Record<string, TelemetryEvent[]> {
  const { names, predicates } = routes;
  const n = names.length;
  return (events) => {
    const buckets: TelemetryEvent[][] = new Array(n);
    for (let r = 0; r < n; r++) buckets[r] = [];
    const unmatched: TelemetryEvent[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as TelemetryEvent;
      let matched = false;
      for (let r = 0; r < n; r++) {
        if (!(predicates[r] as Predicate)(e)) continue;
        // The first output gets the event itself, every further one its own copy (see clone-event.ts).
        (buckets[r] as TelemetryEvent[]).push(matched ? cloneEvent(e) : e);
        matched = true;
        if (exclusive) break;
      }
      if (!matched) unmatched.push(e);
    }
    const out: Record<string, TelemetryEvent[]> = {};
    for (let r = 0; r < n; r++) out[names[r] as string] = buckets[r] as TelemetryEvent[];
    out[UNMATCHED] = unmatched;
    return out;
  };
}
