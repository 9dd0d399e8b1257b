/** The text `thermocline migrate` prints: one header per target, one line per step. */
import type { MigrateResult } from './types.js';

const VERB = { migration: 'migrate', repeatable: 'repeat', maintenance: 'maintain' } as const;

export function formatMigrateResult(result: MigrateResult, displayUrl: string): string {
  const facts =
    result.target === 'postgres'
      ? `flavour ${result.flavour ?? 'unknown'}`
      : `database ${result.database ?? 'default'}, storage policy ${result.storagePolicy ?? 'default'}${result.cluster === undefined ? '' : `, cluster ${result.cluster}`}`;
  const lines = [`${result.target} ${displayUrl} (${facts})`];
  if (result.steps.length === 0) {
    lines.push('  up to date, nothing to do');
  } else {
    lines.push(result.dryRun ? `  plan (dry run, nothing changed): ${result.steps.length} step(s)` : `  applied ${result.steps.length} step(s)`);
    for (const step of result.steps) lines.push(`  ${VERB[step.kind].padEnd(8)} ${step.name}`);
  }
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
