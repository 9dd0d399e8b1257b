import type { z } from 'zod';
import { CORE_ERRORS, type ConfigIssue } from '../errors.js';
import type { KeyLocator } from './locate.js';

export function formatPath(parts: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Turn zod issues into config issues with full key paths and, where found, lines. */
export function zodIssues(error: z.ZodError, prefix: ReadonlyArray<string | number>, locator: KeyLocator | undefined, allowedKeys?: (path: PropertyKey[]) => string[] | undefined): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const base = [...prefix, ...(issue.path as Array<string | number>)];
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys?.(issue.path);
      for (const key of issue.keys) {
        const path = [...base, key];
        out.push({
          path: formatPath(path),
          code: CORE_ERRORS.TC_CONFIG_INVALID,
          line: locator?.lineOf(path),
          message: `unknown key "${key}"${allowed && allowed.length > 0 ? `; allowed keys here: ${allowed.join(', ')}` : ''}`,
        });
      }
      continue;
    }
    out.push({ path: formatPath(base), code: CORE_ERRORS.TC_CONFIG_INVALID, line: locator?.lineOf(base), message: friendlyMessage(issue) });
  }
  return out;
}

function friendlyMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `is required (${issue.expected})`;
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (issue.code === 'invalid_union' && issue.message === 'Invalid input') {
    // zod says only "Invalid input": say what each accepted form wanted instead.
    const wanted = [...new Set(issue.errors.map((branch) => (branch[0] ? friendlyMessage(branch[0]) : undefined)).filter((m): m is string => m !== undefined))];
    if (wanted.length > 0) return `matches none of the accepted forms: ${wanted.join('; or ')}`;
  }
  return issue.message.replace(/^Invalid input: /, '');
}
