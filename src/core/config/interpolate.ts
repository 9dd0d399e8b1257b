import { CORE_ERRORS, type ConfigIssue } from '../errors.js';

/**
 * `${VAR}` and `${VAR:-default}` are replaced from the environment before the TOML is parsed
 * (DESIGN section 3), so a variable can hold any TOML value text; `$$` is a literal `$`.
 * Values of variables whose names look secret are collected so that logs can redact them.
 */

const PATTERN = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const SECRET_NAME = /(PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH)/i;

export interface Interpolated {
  text: string;
  issues: ConfigIssue[];
  /** Values (length >= 4) of secret-looking variables; never logged. */
  secrets: string[];
}

export function interpolate(text: string, env: NodeJS.ProcessEnv = process.env): Interpolated {
  const issues: ConfigIssue[] = [];
  const secrets = new Set<string>();
  const lines = text.split('\n');
  const out = lines.map((line, i) =>
    line.replace(PATTERN, (match: string, name: string | undefined, fallback: string | undefined, offset: number) => {
      if (match === '$$') return '$';
      const value = env[name as string];
      if (value !== undefined && value !== '') {
        if (SECRET_NAME.test(name as string) && value.length >= 4) secrets.add(value);
        return value;
      }
      if (fallback !== undefined) return fallback;
      issues.push({ path: '', code: CORE_ERRORS.TC_CONFIG_ENV, line: i + 1, column: offset + 1, message: `environment variable ${name} is not set (write \${${name}:-default} to give a default)` });
      return '';
    }),
  );
  return { text: out.join('\n'), issues, secrets: [...secrets] };
}
