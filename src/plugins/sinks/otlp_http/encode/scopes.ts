import type { Labels } from '../../../../index.js';
import { attributes, string, tagLen, type Writer } from './wire.js';

/**
 * The `otlp_http` source flattens resource and scope data into each event: resource attributes
 * as `resource.<key>` (with `service.name` as the `service` field, and `host.name` as the `host`
 * field of logs), the scope as `scope.name`, `scope.version` and `scope.<key>`. Splitting them
 * back out regroups events under their resource and scope, so what an edge agent forwards looks
 * to the gateway like what the SDK sent.
 */
export interface Origin {
  resource: Labels;
  scopeName: string;
  scopeVersion: string;
  scopeAttrs: Labels;
  /** The remaining attributes of the event itself. */
  own: Labels;
}

export function splitOrigin(labels: Labels, resource: Labels): Origin {
  const origin: Origin = { resource, scopeName: '', scopeVersion: '', scopeAttrs: {}, own: {} };
  for (const k in labels) {
    const v = labels[k] as string;
    if (k.startsWith('resource.')) resource[k.slice(9)] = v;
    else if (k === 'scope.name') origin.scopeName = v;
    else if (k === 'scope.version') origin.scopeVersion = v;
    else if (k.startsWith('scope.')) origin.scopeAttrs[k.slice(6)] = v;
    else origin.own[k] = v;
  }
  return origin;
}

const keyOf = (l: Labels) => JSON.stringify(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Items grouped by resource, then by scope, in first-seen order. */
export class Grouping<T> {
  readonly resources = new Map<string, { resource: Labels; scopes: Map<string, { origin: Origin; items: T[] }> }>();

  add(origin: Origin, item: T): void {
    const rk = keyOf(origin.resource);
    let r = this.resources.get(rk);
    if (!r) {
      r = { resource: origin.resource, scopes: new Map() };
      this.resources.set(rk, r);
    }
    const sk = `${origin.scopeName}\u0000${origin.scopeVersion}\u0000${keyOf(origin.scopeAttrs)}`;
    let s = r.scopes.get(sk);
    if (!s) {
      s = { origin, items: [] };
      r.scopes.set(sk, s);
    }
    s.items.push(item);
  }

  get size(): number {
    return this.resources.size;
  }
}

/** `Resource { attributes = 1 }` at `field`. */
export function resource(w: Writer, field: number, attrs: Labels): void {
  w.uint32(tagLen(field)).fork();
  attributes(w, 1, attrs);
  w.ldelim();
}

/** `InstrumentationScope { name = 1; version = 2; attributes = 3 }` at `field`. */
export function scope(w: Writer, field: number, origin: Origin): void {
  w.uint32(tagLen(field)).fork();
  string(w, 1, origin.scopeName);
  string(w, 2, origin.scopeVersion);
  attributes(w, 3, origin.scopeAttrs);
  w.ldelim();
}
