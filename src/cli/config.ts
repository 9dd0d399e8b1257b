import { ConfigError, errorHint, formatIssue, ThermoclineError } from '../core/errors.js';
import { loadConfigFile, type LoadedConfig } from '../core/config/load.js';
import { builtinRegistry } from '../plugins/registry.js';

export const EXIT_CONFIG = 78; // EX_CONFIG, as Vector uses for an invalid configuration
export const EXIT_FAILURE = 1;

export function configPath(flag: string | undefined): string {
  return flag ?? process.env.THERMOCLINE_CONFIG ?? 'thermocline.toml';
}

export async function loadOrExplain(file: string, options: { plugins?: 'load' | 'skip' } = {}): Promise<LoadedConfig | undefined> {
  try {
    return await loadConfigFile(file, { registry: builtinRegistry(), plugins: options.plugins });
  } catch (err) {
    printError(err);
    return undefined;
  }
}

/** Print an error for a human: each config problem on its own line, then what to do. */
export function printError(err: unknown): void {
  if (err instanceof ConfigError) {
    console.error(`error[${err.code}]: invalid configuration${err.file ? ` in ${err.file}` : ''}`);
    // Problems of several kinds: each says its own code, and each kind gets its hint.
    const codes = [...new Set(err.issues.map((i) => i.code))];
    const mixed = codes.length > 1;
    for (const issue of err.issues) console.error(`  - ${mixed ? `[${issue.code}] ` : ''}${formatIssue(issue, err.file)}`);
    if (!mixed && err.hint) console.error(`  hint: ${err.hint}`);
    if (mixed) for (const code of codes) console.error(`  hint: [${code}] ${errorHint(code) ?? ''}`);
    return;
  }
  if (err instanceof ThermoclineError) {
    console.error(`error[${err.code}]: ${err.message}`);
    if (err.hint) console.error(`  hint: ${err.hint}`);
    return;
  }
  console.error(`error: ${(err as Error)?.stack ?? String(err)}`);
}
