import { EVENT_KINDS, type PluginIssue, type TelemetryEvent } from '../../../index.js';
import { compileLinearRegex } from './linear-regex.js';
import { MATCHER_FIELDS, matcherSchema, type ConditionConfig, type MatcherConfig, type MatcherField } from './matcher-schema.js';

/**
 * Compiles a validated matcher table (see matcher-schema.ts) into a predicate, once, when the
 * component is created or validated; matching an event then runs only closures and string
 * comparisons. Every problem the schema cannot express (a bad regex, an unknown kind, an empty
 * condition table) is collected as an issue with its key path, so `validate` reports them all.
 */

export type Predicate = (event: TelemetryEvent) => boolean;
type Path = Array<string | number>;
type ValueTest = (value: string | undefined) => boolean;
type Getter = (event: TelemetryEvent) => string | undefined;

/** An event value as text; `undefined` when the event has no such field. */
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);

/* eslint-disable @typescript-eslint/no-explicit-any -- one accessor per field, each a named property load */
const GETTERS: Record<MatcherField, Getter> = {
  kind: (e) => e.kind,
  name: (e) => text((e as any).name),
  type: (e) => text((e as any).type),
  service: (e) => text((e as any).service),
  host: (e) => text((e as any).host),
  level: (e) => text((e as any).level),
  message: (e) => text((e as any).message),
  severity: (e) => text((e as any).severity),
  trace_id: (e) => text((e as any).trace_id),
  span_id: (e) => text((e as any).span_id),
  parent_span_id: (e) => text((e as any).parent_span_id),
  status_code: (e) => text((e as any).status_code),
  status_message: (e) => text((e as any).status_message),
  time_us: (e) => text((e as any).time_us),
  start_us: (e) => text((e as any).start_us),
  end_us: (e) => text((e as any).end_us),
  duration_ns: (e) => text((e as any).duration_ns),
  value: (e) => text((e as any).value),
};
/* eslint-enable @typescript-eslint/no-explicit-any */

/** A label (span attribute) value. Own string values only: `labels.constructor` is absent. */
function labelGetter(key: string): Getter {
  return (e) => {
    const labels = e.kind === 'span' ? e.attr : e.kind === 'event' ? undefined : e.labels;
    const v = labels?.[key];
    return typeof v === 'string' ? v : undefined;
  };
}

function payloadGetter(key: string): Getter {
  return (e) => {
    if (e.kind !== 'event' || !Object.hasOwn(e.payload, key)) return undefined;
    const v = e.payload[key];
    // Objects and arrays exist but equal nothing: no text form that a user could write reliably.
    return v === null || v === undefined ? undefined : (text(v) ?? '\u0000object');
  };
}

/** Value sets a field can take, to catch typos such as `kind = "metrics"` at load time. */
const CLOSED_VALUES: Partial<Record<MatcherField, readonly string[]>> = {
  kind: EVENT_KINDS,
  status_code: ['UNSET', 'OK', 'ERROR'],
};

const exists: ValueTest = (v) => v !== undefined && v !== '';

class Compiler {
  readonly issues: PluginIssue[] = [];

  matcher(m: MatcherConfig, path: Path): Predicate {
    const parts: Predicate[] = [];
    for (const field of Object.keys(MATCHER_FIELDS) as MatcherField[]) {
      const cond = m[field];
      if (cond === undefined) continue;
      const test = this.condition(cond, [...path, field], CLOSED_VALUES[field]);
      if (field === 'kind' && typeof cond === 'string') {
        parts.push((e) => e.kind === cond); // the most common matcher: no accessor, no closure chain
        continue;
      }
      const get = GETTERS[field];
      parts.push((e) => test(get(e)));
    }
    for (const [key, cond] of Object.entries(m.labels ?? {})) {
      const test = this.condition(cond, [...path, 'labels', key]);
      const get = labelGetter(key);
      parts.push((e) => test(get(e)));
    }
    for (const [key, cond] of Object.entries(m.payload ?? {})) {
      const test = this.condition(cond, [...path, 'payload', key]);
      const get = payloadGetter(key);
      parts.push((e) => test(get(e)));
    }
    if (m.any) {
      const alts = m.any.map((sub, i) => this.matcher(reparse(sub), [...path, 'any', i]));
      parts.push((e) => {
        for (const p of alts) if (p(e)) return true;
        return false;
      });
    }
    if (m.all) parts.push(and(m.all.map((sub, i) => this.matcher(reparse(sub), [...path, 'all', i]))));
    if (m.not) {
      const inner = this.matcher(reparse(m.not), [...path, 'not']);
      parts.push((e) => !inner(e));
    }
    return and(parts);
  }

  condition(cond: ConditionConfig, path: Path, closed?: readonly string[]): ValueTest {
    if (typeof cond !== 'object') return this.equals(cond, path, closed);
    if (Array.isArray(cond)) return this.oneOf(cond, path, closed);
    const tests: ValueTest[] = [];
    if (cond.regex !== undefined) tests.push(this.regex(cond.regex, [...path, 'regex']));
    if (cond.exists !== undefined) tests.push(cond.exists ? exists : (v) => !exists(v));
    if (cond.not !== undefined) {
      const inner = this.condition(cond.not as ConditionConfig, [...path, 'not'], closed);
      tests.push((v) => !inner(v));
    }
    if (tests.length === 0)
      this.issues.push({ path, message: 'an empty condition table matches nothing; give `regex`, `exists` or `not`, or write the value itself' });
    if (tests.length === 1) return tests[0] as ValueTest;
    return (v) => {
      for (const t of tests) if (!t(v)) return false;
      return true;
    };
  }

  private equals(value: string | number | boolean, path: Path, closed?: readonly string[]): ValueTest {
    const want = String(value);
    this.checkClosed([want], path, closed);
    return (v) => v === want;
  }

  private oneOf(values: Array<string | number | boolean>, path: Path, closed?: readonly string[]): ValueTest {
    const wanted = values.map(String);
    this.checkClosed(wanted, path, closed);
    // A few values: straight comparisons beat hashing. Many: a Set.
    if (wanted.length <= 4) return (v) => v !== undefined && wanted.includes(v);
    const set = new Set(wanted);
    return (v) => v !== undefined && set.has(v);
  }

  private regex(source: string, path: Path): ValueTest {
    const compiled = compileLinearRegex(source);
    if (!compiled.ok) {
      this.issues.push({ path, message: compiled.message });
      return () => false;
    }
    const test = compiled.test;
    return (v) => v !== undefined && test(v);
  }

  private checkClosed(values: string[], path: Path, closed?: readonly string[]): void {
    if (!closed) return;
    const bad = values.filter((v) => !closed.includes(v));
    if (bad.length > 0)
      this.issues.push({
        path,
        message: `${bad.map((b) => JSON.stringify(b)).join(', ')} can never match; the possible values are ${closed.map((c) => JSON.stringify(c)).join(', ')}`,
      });
  }
}

function and(parts: Predicate[]): Predicate {
  switch (parts.length) {
    case 0:
      return () => true;
    case 1:
      return parts[0] as Predicate;
    case 2: {
      const [a, b] = parts as [Predicate, Predicate];
      return (e) => a(e) && b(e);
    }
    default:
      return (e) => {
        for (const p of parts) if (!p(e)) return false;
        return true;
      };
  }
}

/** Nested matchers are declared as plain tables in the schema (see matcher-schema.ts); they were validated already. */
function reparse(table: Record<string, unknown>): MatcherConfig {
  return matcherSchema.parse(table);
}

export interface CompiledMatcher {
  predicate: Predicate;
  issues: PluginIssue[];
}

/** Compile a matcher; `path` is the key path of the table inside the component (for issues). */
export function compileMatcher(matcher: MatcherConfig, path: Path): CompiledMatcher {
  const compiler = new Compiler();
  const predicate = compiler.matcher(matcher, path);
  return { predicate, issues: compiler.issues };
}
