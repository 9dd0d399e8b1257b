/**
 * Compatibility between two versions of an event schema (docs/events.md#versions). A new version
 * is compatible when every event valid under the old one still fits the typed table and its
 * readers: properties may be added as optional; none may be removed, change type or become
 * required. Checked recursively through nested object properties, naming each field by its path.
 */

export interface Incompatibility {
  /** Dotted path of the field, e.g. `customer.email`. */
  readonly field: string;
  readonly change: 'removed' | 'type_changed' | 'now_required';
  readonly detail: string;
}

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

function typesOf(schema: Node): string[] {
  const t = schema.type;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string').sort();
  return [];
}

function propertiesOf(schema: Node): Node {
  return isNode(schema.properties) ? schema.properties : {};
}

function requiredOf(schema: Node): Set<string> {
  return new Set(Array.isArray(schema.required) ? schema.required.filter((x): x is string => typeof x === 'string') : []);
}

/** Every reason `next` is not compatible with `previous` (empty when it is). */
export function incompatibilities(previous: Node, next: Node, prefix = ''): Incompatibility[] {
  const found: Incompatibility[] = [];
  const before = propertiesOf(previous);
  const after = propertiesOf(next);
  const requiredBefore = requiredOf(previous);
  for (const name of requiredOf(next)) {
    if (!requiredBefore.has(name)) found.push({ field: prefix + name, change: 'now_required', detail: name in before ? 'became required' : 'was added as required' });
  }
  for (const [name, old] of Object.entries(before)) {
    const field = prefix + name;
    const now = after[name];
    if (now === undefined) {
      found.push({ field, change: 'removed', detail: 'was removed' });
      continue;
    }
    if (!isNode(old) || !isNode(now)) continue;
    const oldTypes = typesOf(old).join('|');
    const newTypes = typesOf(now).join('|');
    if (oldTypes !== newTypes) {
      found.push({ field, change: 'type_changed', detail: `changed type from ${oldTypes || 'any'} to ${newTypes || 'any'}` });
      continue;
    }
    if (isNode(old.properties) || isNode(now.properties)) found.push(...incompatibilities(old, now, `${field}.`));
  }
  return found;
}

export function describeIncompatibility(i: Incompatibility): string {
  return `field "${i.field}" ${i.detail}`;
}
