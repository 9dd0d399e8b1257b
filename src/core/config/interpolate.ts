import toml from 'toml';
import { CORE_ERRORS, type ConfigIssue } from '../errors.js';
import { formatPath } from './issues.js';

/**
 * `${VAR}` and `${VAR:-default}` are taken from the environment **after** the TOML is parsed, in
 * its string values, so a variable cannot change the shape of the config: whatever it holds
 * (quotes, newlines, `[sinks.x]`) stays inside the one value it was written in
 * (docs/ARCHITECTURE.md#configuration). `$$` is a literal `$`.
 *
 * A reference written as a whole bare value (`port = ${PORT}`, `enabled = ${ON:-true}`) becomes a
 * number or a boolean when the variable holds one; anything else stays a string, which the schema
 * then judges. Values of variables whose names look secret are collected so that logs can redact them.
 */

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** A reference that is the whole value of a key, unquoted: `key = ${VAR}` up to the end of line or a comment. */
const BARE_REFERENCE = /(=[ \t]*)(\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}\r\n]*)?\})(?=[ \t]*(?:#[^\r\n]*)?\r?$)/gm;
const SECRET_NAME = /(PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH)/i;
/** Marks a bare reference in the text handed to the TOML parser; private-use characters never appear in a real config. */
const MARK = '\uE000';
const markOf = (i: number) => `${MARK}tc-env-${i}${MARK}`;
const MARKED = new RegExp(`"${MARK}tc-env-(\\d+)${MARK}"|${MARK}tc-env-(\\d+)${MARK}`, 'g');

export interface MarkedText {
  /** The file with each bare reference replaced by a quoted marker: valid TOML, same lines. */
  text: string;
  /** The original reference of each marker. */
  bare: string[];
}

/** Lets `key = ${VAR}` parse: the reference becomes a string marker that `interpolateValues` types. */
export function markBareReferences(source: string): MarkedText {
  const bare: string[] = [];
  const text = source.replace(BARE_REFERENCE, (_match: string, equals: string, reference: string) => {
    bare.push(reference);
    return `${equals}"${markOf(bare.length - 1)}"`;
  });
  return { text, bare };
}

export interface Interpolated {
  /** The parsed config with every string value interpolated. */
  value: unknown;
  issues: ConfigIssue[];
  /** Values (length >= 4) of secret-looking variables; never logged. */
  secrets: string[];
}

type Path = Array<string | number>;

export function interpolateValues(parsed: unknown, marked: MarkedText, env: NodeJS.ProcessEnv = process.env, lineOf: (path: Path) => number | undefined = () => undefined): Interpolated {
  const issues: ConfigIssue[] = [];
  const secrets = new Set<string>();

  const substitute = (text: string, path: Path): string =>
    text.replace(REFERENCE, (match: string, name: string | undefined, fallback: string | undefined) => {
      if (match === '$$') return '$';
      const value = env[name as string];
      if (value !== undefined && value !== '') {
        if (SECRET_NAME.test(name as string) && value.length >= 4) secrets.add(value);
        return value;
      }
      if (fallback !== undefined) return fallback;
      issues.push({
        path: formatPath(path),
        code: CORE_ERRORS.TC_CONFIG_ENV,
        line: lineOf(path),
        message: `environment variable ${name} is not set (write \${${name}:-default} to give a default)`,
      });
      return '';
    });

  const visitString = (s: string, path: Path): unknown => {
    const whole = new RegExp(`^${MARK}tc-env-(\\d+)${MARK}$`).exec(s);
    if (whole) return bareValue(substitute(marked.bare[Number(whole[1])] as string, path));
    // A marker inside a longer string came from a multi-line string: put the reference back as written.
    const restored = s.replace(MARKED, (_m, quoted: string | undefined, plain: string | undefined) => marked.bare[Number(quoted ?? plain)] as string);
    return substitute(restored, path);
  };

  const visit = (value: unknown, path: Path): unknown => {
    if (typeof value === 'string') return visitString(value, path);
    if (Array.isArray(value)) return value.map((v, i) => visit(v, [...path, i]));
    if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = visit(v, [...path, k]);
      return out;
    }
    return value;
  };

  return { value: visit(parsed, []), issues, secrets: [...secrets] };
}

/** A bare reference's text as a TOML number or boolean when it is exactly one, else the text itself. */
function bareValue(text: string): unknown {
  if (/[\r\n]/.test(text)) return text;
  try {
    const parsed = toml.parse(`v = ${text}`) as Record<string, unknown>;
    const v = parsed.v;
    if (Object.keys(parsed).length === 1 && (typeof v === 'number' || typeof v === 'boolean')) return v;
  } catch {
    // not a TOML scalar: the text stays a string
  }
  return text;
}
